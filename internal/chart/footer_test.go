package chart

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/internal/fixture"
)

// TestChartsTravel: a chart saved or mailed alone still says where it came
// from. Every SVG has a <title> (its first child) and the footer line with
// host, kernel, io mode, placement, date and version; every PNG is 2x
// (1920x1200) and has the footer drawn along its bottom edge.
func TestChartsTravel(t *testing.T) {
	f := fixture.Run()
	f.Meta.Host, f.Meta.Kernel, f.Meta.Version = "bench-vm", "6.8.0-49-generic", "v0.1.0+0123456789ab"
	f.Meta.Placement = "each side's measuring thread pinned"
	f.Meta.Started = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	charts, err := Draw(f)
	if err != nil {
		t.Fatal(err)
	}
	want := "bench-vm · Linux 6.8.0-49-generic · io=raw · each side&#39;s measuring thread pinned · 2026-11-22 · ipcbench v0.1.0+0123456789ab"
	if len(charts) < 4 {
		t.Fatalf("%d charts", len(charts))
	}
	for _, c := range charts {
		dec := xml.NewDecoder(bytes.NewReader(c.SVG))
		var first string
		for depth := 0; first == ""; {
			tok, err := dec.Token()
			if err != nil {
				t.Fatalf("%s.svg: %v", c.Name, err)
			}
			switch el := tok.(type) {
			case xml.StartElement:
				if depth == 1 {
					first = el.Name.Local
					var title string
					if err := dec.DecodeElement(&title, &el); err != nil || (first == "title" && title != c.Title) {
						t.Errorf("%s.svg: <title> %q, want %q (%v)", c.Name, title, c.Title, err)
					}
				}
				depth++
			case xml.EndElement:
				depth--
			}
		}
		if first != "title" {
			t.Errorf("%s.svg: the first child of <svg> is <%s>, want <title>", c.Name, first)
		}
		if !strings.Contains(string(c.SVG), want) {
			t.Errorf("%s.svg lacks the footer %q", c.Name, want)
		}
		img, err := png.Decode(bytes.NewReader(c.PNG))
		if err != nil {
			t.Fatal(err)
		}
		b := img.Bounds()
		if b.Dx() != 1920 || b.Dy() != 1200 {
			t.Errorf("%s.png is %dx%d, want 1920x1200", c.Name, b.Dx(), b.Dy())
		}
		// The footer starts at the bottom-left corner, where nothing else is
		// drawn: some of the bottom 40 px of the left 200 are dark.
		dark := 0
		for y := b.Max.Y - 40; y < b.Max.Y; y++ {
			for x := 0; x < 200; x++ {
				if r, _, _, _ := img.At(x, y).RGBA(); r < 0x8000 {
					dark++
				}
			}
		}
		if dark == 0 {
			t.Errorf("%s.png: nothing drawn along the bottom edge, where the footer goes", c.Name)
		}
	}
	if got := footer(&f.Meta); strings.Contains(got, "&") || !strings.HasPrefix(got, "bench-vm · Linux") {
		t.Errorf("footer %q", got)
	}
	// The kernel as host.Kernel gives it already says Linux: once is enough.
	f.Meta.Kernel = "Linux 6.18.44"
	if got := footer(&f.Meta); !strings.Contains(got, " · Linux 6.18.44 · ") {
		t.Errorf("footer %q, want the kernel named once", got)
	}
}
