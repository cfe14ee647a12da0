package view

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
	"github.com/ipcbench/ipcbench/verdict"

	"github.com/ipcbench/ipcbench/internal/chart"
)

// The HTML report is one file a person can open, mail or archive: every
// chart is an inline SVG and every style an inline <style>, with no script
// and nothing fetched, so it shows the same offline, in a mail client's
// browser, or years later. It says what the Markdown says (the same facts
// and tables, from the same view) and adds the charts.

//go:embed report.html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("report.html").Parse(htmlSource))

// WriteHTML writes f as a self-contained report.html: the machine and run
// facts, how to read the figures, the tables with their marked cells and
// notes, and every chart chart.Draw draws. The output depends only on f.
func WriteHTML(w io.Writer, f *results.File) error {
	charts, err := chart.Draw(f)
	if err != nil {
		return err
	}
	return writeHTML(w, f, charts)
}

// htmlPage is what the template shows.
type htmlPage struct {
	Title      string
	Version    string
	Incomplete bool
	Facts      []metaFact
	Verdicts   *verdict.Summary
	// ClientsIntro says what the server and connect workloads are, when the
	// file has them.
	ClientsIntro   string
	NoisyPercent   string
	Tables         []htmlTable
	Groups         []htmlGroup
	NoDistribution string
}

type htmlTable struct {
	Workload string
	Title    string
	Header   []string
	Rows     [][]htmlCell
	Notes    []viewNote
}

// htmlCell is a table cell and the classes its markers give it, so a
// failed, noisy or split cell stands out before its note is read.
type htmlCell struct {
	Text, Marks, Class string
}

// htmlGroup is a set of charts under one heading.
type htmlGroup struct {
	ID, Title, Text string
	Charts          []htmlChart
}

type htmlChart struct {
	Name    string
	Caption string
	SVG     template.HTML
}

func writeHTML(w io.Writer, f *results.File, charts []chart.Drawing) error {
	v := buildLayout(f)
	page := htmlPage{
		Title:        htmlTitle(&f.Meta),
		Version:      f.Meta.Version,
		Incomplete:   v.Incomplete,
		Facts:        metaFacts(&f.Meta, v.Rounds),
		Verdicts:     verdict.Summarize(f),
		ClientsIntro: clientsIntro(f, ""),
		NoisyPercent: strconv.FormatFloat(results.NoisyThreshold*100, 'f', -1, 64),
	}
	if f.Meta.TimerOverheadNS > 0 {
		page.Facts = append(page.Facts, metaFact{Label: "Clock", Text: "reading the clock costs " +
			units.Duration(f.Meta.TimerOverheadNS) + "; no difference below that can be told apart"})
	}
	for _, t := range v.Tables {
		ht := htmlTable{Workload: t.Workload, Title: t.Title, Header: t.Header, Notes: t.Notes}
		for _, row := range t.Rows {
			var cells []htmlCell
			for _, c := range row {
				cells = append(cells, htmlCell{Text: c.Text, Marks: c.Marks, Class: htmlCellClass(c)})
			}
			ht.Rows = append(ht.Rows, cells)
		}
		page.Tables = append(page.Tables, ht)
	}
	page.Groups = htmlGroups(charts)
	if hasPingPong(f) && !hasGroup(page.Groups, "distribution") {
		page.NoDistribution = "No latency distribution chart: no pingpong cell in these results " +
			"has a round-trip histogram (rtt_hdr) that could be read."
	}
	var b bytes.Buffer
	if err := htmlTemplate.Execute(&b, page); err != nil {
		return fmt.Errorf("report.html: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// htmlTitle names the page after the host and the day, so that several
// reports open side by side can be told apart by their tabs.
func htmlTitle(m *results.Meta) string {
	var parts []string
	if m.Host != "" {
		parts = append(parts, m.Host)
	}
	if !m.Started.IsZero() {
		parts = append(parts, m.Started.UTC().Format(time.DateOnly))
	}
	if len(parts) == 0 {
		return "ipcbench results"
	}
	return "ipcbench results: " + strings.Join(parts, ", ")
}

func htmlCellClass(c viewCell) string {
	var classes []string
	switch {
	case c.Text == "-":
		classes = append(classes, "absent")
	case strings.Contains(c.Marks, markFailed):
		classes = append(classes, "failed")
	case strings.Contains(c.Marks, markLost):
		classes = append(classes, "lost")
	case strings.Contains(c.Marks, markNoisy):
		classes = append(classes, "noisy")
	case strings.Contains(c.Marks, markSplit):
		classes = append(classes, "split")
	}
	return strings.Join(classes, " ")
}

// htmlGroups sorts the charts under headings, in the order chart.Draw
// drew them, each with a sentence on how to read it.
func htmlGroups(charts []chart.Drawing) []htmlGroup {
	var groups []htmlGroup
	add := func(id, title, text string, c htmlChart) {
		if n := len(groups); n > 0 && groups[n-1].ID == id {
			groups[n-1].Charts = append(groups[n-1].Charts, c)
			return
		}
		groups = append(groups, htmlGroup{ID: id, Title: title, Text: text, Charts: []htmlChart{c}})
	}
	for _, pf := range charts {
		c := htmlChart{Name: pf.Name, Caption: pf.Title, SVG: template.HTML(htmlInlineSVG(pf.SVG))}
		switch {
		case pf.Name == "latency":
			c.Caption = "Round trip against message size: solid p50, dashed p99."
			add("latency", "Round-trip time", "", c)
		case strings.HasPrefix(pf.Name, "latency-distribution-"):
			c.Caption = "" // the chart's title says it all
			add("distribution", "Round-trip time distribution, one chart per message size",
				"Each line is every round trip of one mechanism at one size, all rounds merged, sorted "+
					"from fastest (0%) to slowest. Going right, each labelled step is ten times rarer: at "+
					"99.9% only 1 round trip in 1000 took longer. A line that turns up early has a heavy tail.", c)
		case pf.Name == "throughput":
			c.Caption = "Payload megabytes per second, one way, against message size."
			add("stream", "Throughput", "", c)
		case pf.Name == "message-rate":
			c.Caption = "Messages per second, one way, against message size."
			add("stream", "Throughput", "", c)
		case strings.HasPrefix(pf.Name, "throughput-offset-"):
			c.Caption = "" // the chart's title says it all
			add("offset", "Throughput against payload offset, one chart per message size",
				"Where each message's payload starts past a page boundary, in both sides' buffers (-offset). "+
					"On some CPUs the kernel's copy runs at half speed or less when the payload is a few bytes "+
					"past a page; the dashed line is half the user-space memcpy bandwidth at the same placement.", c)
		default:
			add(pf.Name, pf.Title, "", c)
		}
	}
	return groups
}

func hasGroup(groups []htmlGroup, id string) bool {
	for _, g := range groups {
		if g.ID == id {
			return true
		}
	}
	return false
}

func hasPingPong(f *results.File) bool {
	for i := range f.Results {
		if f.Results[i].Workload == results.PingPong {
			return true
		}
	}
	return false
}

// htmlInlineSVG makes a chart's SVG file fit inside HTML: without the XML
// declaration and the generator comment, which only a standalone file needs.
func htmlInlineSVG(svg []byte) string {
	s := string(svg)
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	return strings.TrimSpace(s)
}
