package view

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/results"

	"github.com/ipcbench/ipcbench/internal/fixture"
)

// htmlTestFile is fixture.Run cut to two sizes, so that the browser test
// has every kind of chart without a page of twenty.
func htmlTestFile() *results.File {
	f := fixture.Run()
	f.Results = slices.DeleteFunc(f.Results, func(r results.Result) bool { return r.SizeBytes != 64 && r.SizeBytes != 64<<10 })
	f.Meta.Host = "bench-vm"
	f.Meta.Command = `ipcbench run -rounds 3 -sizes 64,64K -o "out <1>/"`
	f.Meta.Started = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	f.Meta.Version = "v0.1.0"
	return f
}

// htmlCharts is how many charts htmlTestFile has: latency, a distribution
// per size, throughput and message rate.
const htmlCharts = 5

func writeTestReport(t *testing.T, f *results.File) (dir string, page []byte) {
	t.Helper()
	dir = t.TempDir()
	paths, err := WriteFiles(dir, f)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(paths, filepath.Join(dir, "report.html")) {
		t.Fatalf("WriteFiles did not report report.html: %v", paths)
	}
	page, err = os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	return dir, page
}

// TestHTMLSelfContained checks report.html without a browser: one file
// that fetches nothing and runs nothing, with every chart inline, both
// tables, the marked cells and their notes, and the same bytes every time.
func TestHTMLSelfContained(t *testing.T) {
	_, page := writeTestReport(t, htmlTestFile())
	s := string(page)

	if !strings.HasPrefix(s, "<!DOCTYPE html>\n") {
		t.Errorf("report.html does not start with the HTML5 doctype: %.40q", s)
	}
	for _, bad := range []string{"<script", "<link", "<img", "<iframe", "@import", "url(", "src=", "href=", "<?xml"} {
		if strings.Contains(s, bad) {
			t.Errorf("report.html contains %q: it must be self-contained", bad)
		}
	}
	// The only URLs are the SVG namespace names, which nothing fetches.
	for _, u := range regexp.MustCompile(`https?://[^"'\s<>]*`).FindAllString(s, -1) {
		if u != "http://www.w3.org/2000/svg" && u != "http://www.w3.org/1999/xlink" {
			t.Errorf("report.html refers to %s", u)
		}
	}
	if n := strings.Count(s, "<svg"); n != htmlCharts {
		t.Errorf("%d inline <svg> charts, want %d", n, htmlCharts)
	}
	for _, want := range []string{
		`<table id="pingpong">`, `<table id="stream">`,
		"<title>ipcbench results: bench-vm, 2026-11-22</title>",
		// The command is escaped, not markup.
		"<code>ipcbench run -rounds 3 -sizes 64,64K -o &#34;out &lt;1&gt;/&#34;</code>",
		"Round-trip time (pingpong): p50 / p99, io=raw, not pinned, median of 3 rounds",
		`<td class="noisy">`, `<span class="mark">~</span>`,
		"msgqueue 64 B: noisy, p50 round trip ranges",
		"How to read this", "Round trip, not one way.", "MB = 10<sup>6</sup> bytes",
		"more than 10% of the median",
		`id="chart-latency"`, `id="chart-latency-distribution-64"`, `id="chart-latency-distribution-64K"`,
		`id="chart-throughput"`, `id="chart-message-rate"`,
		"(latency.svg, latency.png)",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}

	// A failed and a split cell, from the golden fixture.
	f, err := results.Load(filepath.Join(fixtures, "one-round.results.json"))
	if err != nil {
		t.Fatal(err)
	}
	_, page = writeTestReport(t, f)
	for _, want := range []string{
		`<td class="failed">error <span class="mark">!</span></td>`,
		`<td class="split">14.3 / 27.7 µs <span class="mark">*</span></td>`,
		"unixsocket 64 KiB: failed: peer stopped answering",
		"msgqueue 16 KiB: split into 2 pieces of 8192 B",
		// No histograms in this file: said, not silently missing.
		"No latency distribution chart",
	} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("report.html of one-round lacks %q", want)
		}
	}

	// Deterministic, and the same drawing as the chart files.
	dir, a := writeTestReport(t, htmlTestFile())
	_, b := writeTestReport(t, htmlTestFile())
	if !bytes.Equal(a, b) {
		t.Errorf("two report.html of the same results differ")
	}
	svg, err := os.ReadFile(filepath.Join(dir, "latency.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(a, []byte(htmlInlineSVG(svg))) {
		t.Errorf("report.html does not inline latency.svg as written")
	}
}

// TestHTMLText is the golden text of report.html, charts left out: what a
// change to the wording or the layout does is reviewed in the diff.
func TestHTMLText(t *testing.T) {
	for _, name := range goldenFixtures {
		f, err := results.Load(filepath.Join(fixtures, name+".results.json"))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := writeHTML(&buf, f, nil); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, filepath.Join("testdata", name+".html.golden"), buf.Bytes(), "HTMLText")
	}
}

// TestHTMLEdgeCases: files with no usable figure, no rows or odd names
// still give a page, without a chart where there is nothing to draw.
func TestHTMLEdgeCases(t *testing.T) {
	allFailed := htmlTestFile()
	for i := range allFailed.Results {
		r := &allFailed.Results[i]
		*r = results.Result{Mechanism: r.Mechanism, Workload: r.Workload, SizeBytes: r.SizeBytes, Round: r.Round, Error: "peer did not start"}
	}
	odd := htmlTestFile()
	for i := range odd.Results {
		odd.Results[i].Mechanism = "<b>" + odd.Results[i].Mechanism + "&"
	}
	for _, tc := range []struct {
		name   string
		f      *results.File
		charts int
		has    string
	}{
		{"empty", &results.File{Schema: results.Schema}, 0, "No results."},
		{"all failed", allFailed, 0, "No chart"},
		{"odd names", odd, htmlCharts, "&lt;b&gt;pipe&amp;"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, page := writeTestReport(t, tc.f)
			if n := bytes.Count(page, []byte("<svg")); n != tc.charts {
				t.Errorf("%d charts, want %d", n, tc.charts)
			}
			if !bytes.Contains(page, []byte(tc.has)) {
				t.Errorf("report.html lacks %q", tc.has)
			}
			if bytes.Contains(page, []byte("<b>pipe")) {
				t.Errorf("a mechanism name went into the page unescaped")
			}
		})
	}
}

// chromiumFlags run Debian's chromium headless as root in a container:
// no sandbox (CI is root), no GPU, and nothing that reaches the network.
func chromiumFlags(t *testing.T) []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run",
		"--disable-dev-shm-usage", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(),
	}
}

// chromium runs the browser with args and returns its stdout. The browser
// runs in its own process group, which is killed afterwards, so no helper
// process outlives the test.
func chromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(chromiumFlags(t), args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		t.Fatalf("%s %s: %v\nstderr:\n%s", bin, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// findChromium returns the path of a Chromium binary, or "" when there is
// none on PATH.
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestHTMLInChromium loads report.html in a real browser, headless: the
// DOM it builds must hold the charts as SVG and both tables with their
// rows, and its screenshot must show the charts' colours, so the inline
// SVG is painted, not just parsed.
func TestHTMLInChromium(t *testing.T) {
	bin := findChromium()
	if bin == "" {
		t.Skip("no chromium on PATH, so report.html is not tested in a browser; " +
			"install Debian's chromium (apt-get install chromium) as .ci/run does")
	}
	dir, _ := writeTestReport(t, htmlTestFile())
	url := "file://" + filepath.Join(dir, "report.html")

	dom := string(chromium(t, bin, "--dump-dom", url))
	if n := strings.Count(dom, "<svg"); n < 3 || n != htmlCharts {
		t.Errorf("the rendered DOM has %d <svg> charts, want %d (at least 3)", n, htmlCharts)
	}
	for _, id := range []string{"pingpong", "stream"} {
		re := regexp.MustCompile(`(?s)<table id="` + id + `">.*?</table>`)
		table := re.FindString(dom)
		if table == "" {
			t.Errorf("the rendered DOM has no %s table", id)
			continue
		}
		if rows := strings.Count(table, "<tr>"); rows != 3 { // header and two sizes
			t.Errorf("the %s table has %d rows, want 3", id, rows)
		}
		for _, mech := range []string{"pipe", "msgqueue", "unixsocket", "tcpsocket"} {
			if !strings.Contains(table, `<th scope="col">`+mech+`</th>`) {
				t.Errorf("the %s table has no %s column", id, mech)
			}
		}
	}
	if !strings.Contains(dom, "How to read this") {
		t.Errorf("the rendered DOM lacks the how-to-read section")
	}

	shot := filepath.Join(t.TempDir(), "report.png")
	chromium(t, bin, "--window-size=1280,5200", "--screenshot="+shot, url)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("the screenshot: %v", err)
	}
	// Count the pixels in pipe's blue (#0072B2), which only the charts use.
	blue := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if near(r>>8, 0x00) && near(g>>8, 0x72) && near(bl>>8, 0xB2) {
				blue++
			}
		}
	}
	if blue < 2000 {
		t.Errorf("the screenshot has %d pixels of the charts' blue: the charts were not painted", blue)
	}
}

func near(v, want uint32) bool { return v+12 >= want && v <= want+12 }
