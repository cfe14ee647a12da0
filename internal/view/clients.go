package view

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
)

// The server and connect workloads have one more dimension than pingpong
// and stream: how many clients shared the one server. Their tables have a
// row per size and number of clients, the mechanisms side by side.

// hasClients says whether a workload's cells have clients.
func hasClients(workload string) bool {
	return workload == results.Server || workload == results.Connect
}

// clientKeys are the cells of a clients table in row order: size, then
// clients, only those some mechanism has; and the mechanisms that have any.
func clientKeys(m *results.Matrix, workload string) (mechs []string, rows []results.Key) {
	for _, size := range m.Sizes {
		for _, n := range m.Clients {
			k := results.Key{Workload: workload, SizeBytes: size, Clients: n}
			for _, mech := range m.Mechanisms {
				k.Mechanism = mech
				if m.CellAt(k) == nil {
					continue
				}
				if !slices.Contains(mechs, mech) {
					mechs = append(mechs, mech)
				}
				if k.Mechanism = ""; !slices.Contains(rows, k) {
					rows = append(rows, k)
				}
			}
		}
	}
	// Mechanisms in the file's order, not the order their first cell came.
	slices.SortStableFunc(mechs, func(a, b string) int {
		return slices.Index(m.Mechanisms, a) - slices.Index(m.Mechanisms, b)
	})
	return mechs, rows
}

func buildClientsTable(m *results.Matrix, meta *results.Meta, workload string, rounds int) viewTable {
	t := viewTable{Workload: workload, Title: clientsTitle(meta, workload, rounds), Labels: 2}
	mechs, rows := clientKeys(m, workload)
	t.Header = append([]string{"size", "clients"}, mechs...)
	for _, k := range rows {
		row := []viewCell{{Text: units.Size(k.SizeBytes)}, {Text: strconv.Itoa(k.Clients)}}
		for _, mech := range mechs {
			k.Mechanism = mech
			row = append(row, clientsCellOf(m.CellAt(k)))
		}
		t.Rows = append(t.Rows, row)
	}
	t.Notes = clientsNotes(m, mechs, rows)
	return t
}

func clientsTitle(meta *results.Meta, workload string, rounds int) string {
	title := "Many clients, one server (server): requests/s, round trip p50 / p99 over all clients, fairness J (1 = all served equally)"
	if workload == results.Connect {
		title = "Connection setup (connect, send, echo, close): connections/s, transaction p50 / p99, connect() p50"
	}
	extra := runSetup(meta)
	if rounds > 1 {
		extra = append(extra, "median of "+strconv.Itoa(rounds)+" rounds")
	}
	if len(extra) > 0 {
		title += ", " + strings.Join(extra, ", ")
	}
	return title
}

// clientsCellOf is what a server or connect table shows for a cell.
func clientsCellOf(c *results.Cell) viewCell {
	switch {
	case c == nil:
		return viewCell{Text: "-"}
	case c.IsSkipped():
		return viewCell{Text: "skipped"}
	case c.Failed():
		return viewCell{Text: "error", Marks: cellMarkers(c)}
	}
	return viewCell{Text: clientsFigures(c), Marks: cellMarkers(c)}
}

func clientsFigures(c *results.Cell) string {
	if c.RTTP50.N == 0 {
		return "n/a"
	}
	rtt := units.DurationPair(c.RTTP50.Median, c.RTTP99.Median, " / ")
	if c.Workload == results.Connect {
		s := units.Count(c.ConnectionsPerS.Median) + "/s, " + rtt
		if c.ConnectP50.N > 0 {
			s += ", connect " + units.Duration(c.ConnectP50.Median)
		}
		return s
	}
	s := units.Count(c.MsgsPerS.Median) + " req/s, " + rtt
	if c.Fairness.N > 0 {
		s += ", J " + strconv.FormatFloat(c.Fairness.Median, 'f', 3, 64)
	}
	return s
}

// ClientsText is "1 client" or "N clients".
func ClientsText(n int) string {
	if n == 1 {
		return "1 client"
	}
	return strconv.Itoa(n) + " clients"
}

// clientsNotes lists split, failed, noisy and skipped cells and the other
// notes, a mechanism's note once when all its cells share it.
func clientsNotes(m *results.Matrix, mechs []string, rows []results.Key) []viewNote {
	var split, failed, noisy, skipped, cellNotes, mechNotes []viewNote
	for _, mech := range mechs {
		var cells []*results.Cell
		for _, k := range rows {
			k.Mechanism = mech
			if c := m.CellAt(k); c != nil {
				cells = append(cells, c)
			}
		}
		common, why := sharedNote(cells, func(c *results.Cell) string { return c.Note }, false),
			sharedNote(cells, func(c *results.Cell) string { return c.Skipped }, true)
		if common != "" {
			mechNotes = append(mechNotes, viewNote{Text: mech + ": " + common})
		}
		if why != "" {
			skipped = append(skipped, viewNote{Text: mech + ": skipped: " + why})
		}
		for _, c := range cells {
			name := mech + " " + units.Size(c.SizeBytes) + " " + ClientsText(c.Clients)
			note := c.Note
			if note == common {
				note = ""
			}
			if c.IsSkipped() {
				if why == "" {
					skipped = append(skipped, viewNote{Text: name + ": skipped: " + c.Skipped})
				}
				continue
			}
			if c.Pieces > 1 {
				text := fmt.Sprintf("%s: split, each message sent as %d kernel messages", name, c.Pieces)
				if note != "" {
					text = name + ": " + note
				}
				split = append(split, viewNote{markSplit, text})
				note = ""
			}
			if len(c.Errors) > 0 {
				text := name + ": failed: " + strings.Join(c.Errors, "; ")
				if !c.Failed() {
					text = fmt.Sprintf("%s: failed in some rounds, figures from %d: %s",
						name, len(c.Rows), strings.Join(c.Errors, "; "))
				}
				failed = append(failed, viewNote{markFailed, text})
			}
			if !c.Failed() && c.Noisy() {
				s := c.MsgsPerS
				what := "requests/s"
				if c.Workload == results.Connect {
					s, what = c.ConnectionsPerS, "connections/s"
				}
				noisy = append(noisy, viewNote{markNoisy, fmt.Sprintf("%s: noisy, %s range %s–%s across %d rounds",
					name, what, units.Count(s.Min), units.Count(s.Max), s.N)})
			}
			if note != "" {
				cellNotes = append(cellNotes, viewNote{Text: name + ": " + note})
			}
		}
	}
	return slices.Concat(split, failed, noisy, skipped, cellNotes, mechNotes)
}

// sharedNote is the text every cell has in common, or "". With skipped
// true it looks at skipped cells only, and all of them must be skipped;
// otherwise at the cells that ran.
func sharedNote(cells []*results.Cell, get func(*results.Cell) string, skipped bool) string {
	common, seen := "", 0
	for _, c := range cells {
		if c.IsSkipped() != skipped {
			if skipped {
				return ""
			}
			continue
		}
		if !skipped && c.Failed() {
			continue
		}
		if seen == 0 {
			common = get(c)
		} else if get(c) != common {
			return ""
		}
		seen++
	}
	return common
}

// clientsIntro is the sentence the introduction adds about the server and
// connect workloads when the file has them, with their names quoted by q
// ("`" for Markdown); "" otherwise.
func clientsIntro(f *results.File, q string) string {
	var has bool
	for i := range f.Results {
		if hasClients(f.Results[i].Workload) {
			has = true
			break
		}
	}
	if !has {
		return ""
	}
	return " " + q + "server" + q + " runs N client processes at once against one server process (requests/s, " +
		"round trip over all clients, fairness); " + q + "connect" + q + " times one connection after another " +
		"(connect, send, echo, close)."
}
