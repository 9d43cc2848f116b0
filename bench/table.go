package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// The servers measured, in the table's column order. Every one runs alone, the same way: one
// ./coredns process, a server block with bind and the one plugin, nothing else.
type server struct {
	key   string
	label string
}

var (
	srvCF     = server{"cf", "cfsecondary"}
	srvCF2    = server{"cf2", "cfsecondary (again)"}
	srvSec    = server{"sec", "secondary"}
	srvWhoami = server{"who", "whoami"}
	allSrv    = []server{srvCF, srvCF2, srvSec, srvWhoami}
	// The secondaries; whoami is measured for queries only, as the ceiling of CoreDNS itself.
	zoneSrv = []server{srvCF, srvCF2, srvSec}
)

// metric is one row of the table.
type metric struct {
	key    string
	name   string
	format string // for fmt, e.g. "%.2f"
	whoami bool   // whoami has this figure too (queries per second and latency)
}

func bigMetrics(records int) []metric {
	z := humanCount(records) + " records"
	return []metric{
		{"load", z + ": start → serving, by AXFR (s)", "%.2f", false},
		{"rss", z + ": RSS 3 s after load (MiB)", "%.0f", false},
		{"peak", z + ": peak RSS, load + NOTIFY (MiB)", "%.0f", false},
		{"qps", z + ": queries per second", "%.0f", true},
		{"lat", z + ": average latency (ms)", "%.3f", true},
		{"cpu", z + ": server CPU per answered query (µs)", "%.1f", true},
		{"lost", z + ": queries lost (%)", "%.2f", true},
		{"notify", z + ": 10-record change → new serial served (ms)", "%.1f", false},
		{"restart", z + ": restart → serving again (s)", "%.2f", false},
	}
}

func manyMetrics(zones int) []metric {
	z := humanCount(zones) + " zones"
	return []metric{
		{"m-start", z + ": start → all served (s)", "%.2f", false},
		{"m-rss", z + ": RSS 3 s after load (MiB)", "%.0f", false},
		{"m-qps", z + ": queries per second", "%.0f", true},
		{"m-lat", z + ": average latency (ms)", "%.3f", true},
		{"m-cpu", z + ": server CPU per answered query (µs)", "%.1f", true},
		{"m-lost", z + ": queries lost (%)", "%.2f", true},
	}
}

func humanCount(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

// results holds every figure of every run: metric → server → one value per round (NaN when
// that run did not produce it).
type results struct {
	runs  int
	cells map[string]map[string][]float64
}

func newResults(runs int) *results {
	return &results{runs: runs, cells: map[string]map[string][]float64{}}
}

func (r *results) set(metric string, s server, round int, v float64) {
	m := r.cells[metric]
	if m == nil {
		m = map[string][]float64{}
		r.cells[metric] = m
	}
	vs := m[s.key]
	if vs == nil {
		vs = make([]float64, r.runs)
		for i := range vs {
			vs[i] = math.NaN()
		}
		m[s.key] = vs
	}
	vs[round] = v
}

func (r *results) values(metric string, s server) []float64 { return r.cells[metric][s.key] }

// median of the values that are not NaN; NaN when there are none.
func median(vs []float64) float64 {
	var xs []float64
	for _, v := range vs {
		if !math.IsNaN(v) {
			xs = append(xs, v)
		}
	}
	if len(xs) == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

// ratio is the median over the rounds of a's figure divided by b's in the same round: the
// servers of a round run one after the other, so a round's ratio sees the same machine.
func (r *results) ratio(metric string, a, b server) float64 {
	va, vb := r.values(metric, a), r.values(metric, b)
	if va == nil || vb == nil {
		return math.NaN()
	}
	var rs []float64
	for i := range va {
		if !math.IsNaN(va[i]) && !math.IsNaN(vb[i]) && vb[i] != 0 {
			rs = append(rs, va[i]/vb[i])
		}
	}
	return median(rs)
}

// table renders the rows as a Markdown table padded for the terminal, with the A/A warnings.
func (r *results) table(metrics []metric) (string, []string) {
	header := []string{"figure (median of runs)"}
	for _, s := range allSrv {
		header = append(header, s.label)
	}
	header = append(header, "cf / secondary", "cf / whoami", "cf / cf (again)")
	rows := [][]string{header}
	var warnings []string
	for _, m := range metrics {
		row := []string{m.name}
		for _, s := range allSrv {
			v := median(r.values(m.key, s))
			if math.IsNaN(v) {
				row = append(row, "—")
			} else {
				row = append(row, fmt.Sprintf(m.format, v))
			}
		}
		ratio := func(b server) string {
			x := r.ratio(m.key, srvCF, b)
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return "—"
			}
			return fmt.Sprintf("%.2f", x)
		}
		row = append(row, ratio(srvSec))
		if m.whoami {
			row = append(row, ratio(srvWhoami))
		} else {
			row = append(row, "—")
		}
		row = append(row, ratio(srvCF2))
		rows = append(rows, row)
		if aa := r.ratio(m.key, srvCF, srvCF2); !math.IsNaN(aa) && math.Abs(aa-1) > 0.10 && !(m.key == "lost" || m.key == "m-lost") {
			warnings = append(warnings, fmt.Sprintf("WARNING: A/A control off by more than 10%%: %s: cfsecondary / cfsecondary (again) = %.2f; this figure is not trustworthy on this machine now", m.name, aa))
		}
	}
	return renderMarkdown(rows), warnings
}

// runsTable renders every run's value, for the Markdown file.
func (r *results) runsTable(metrics []metric) string {
	header := []string{"figure"}
	for _, s := range allSrv {
		header = append(header, s.label)
	}
	rows := [][]string{header}
	for _, m := range metrics {
		row := []string{m.name}
		for _, s := range allSrv {
			vs := r.values(m.key, s)
			if vs == nil {
				row = append(row, "—")
				continue
			}
			var parts []string
			for _, v := range vs {
				if math.IsNaN(v) {
					parts = append(parts, "—")
				} else {
					parts = append(parts, fmt.Sprintf(m.format, v))
				}
			}
			row = append(row, strings.Join(parts, ", "))
		}
		rows = append(rows, row)
	}
	return renderMarkdown(rows)
}

func renderMarkdown(rows [][]string) string {
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	var b strings.Builder
	line := func(row []string, right bool) {
		b.WriteString("|")
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if right && i > 0 {
				b.WriteString(" " + pad + c + " |")
			} else {
				b.WriteString(" " + c + pad + " |")
			}
		}
		b.WriteString("\n")
	}
	line(rows[0], false)
	b.WriteString("|")
	for i, w := range width {
		if i == 0 {
			b.WriteString(" " + strings.Repeat("-", w) + " |")
		} else {
			b.WriteString(" " + strings.Repeat("-", w-1) + ": |")
		}
	}
	b.WriteString("\n")
	for _, row := range rows[1:] {
		line(row, true)
	}
	return b.String()
}
