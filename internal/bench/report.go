package bench

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Report is one invocation's results, as --json prints them and --report
// writes them.
type Report struct {
	Time    time.Time `json:"time"`
	Target  string    `json:"target,omitempty"`
	Command string    `json:"command,omitempty"`
	Results []*Result `json:"results"`
}

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteReport writes report.html (the table and an inline SVG percentile
// chart), latency.svg (the chart alone) and results.json into dir.
func WriteReport(dir string, r *Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	svg := LatencySVG(r.Results)
	var js strings.Builder
	if err := WriteJSON(&js, r); err != nil {
		return err
	}
	var page strings.Builder
	if err := reportPage.Execute(&page, map[string]any{
		"R": r, "SVG": template.HTML(svg), //nolint:gosec // our own SVG, numbers and escaped names only
	}); err != nil {
		return err
	}
	for name, body := range map[string]string{"report.html": page.String(), "latency.svg": svg, "results.json": js.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil { //nolint:gosec // a report, meant to be read
			return err
		}
	}
	return nil
}

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"f1": func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"f3": func(v float64) string { return fmt.Sprintf("%.3f", v) },
	"pct": func(b *BaselineRatio) string {
		if b == nil {
			return "-"
		}
		return fmt.Sprintf("%.1f%% of %s", b.Ratio*100, b.Scenario)
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bazaar bench {{.R.Time.Format "2006-01-02 15:04:05"}}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}
td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}
code{background:#f4f4f4;padding:.1em .3em}</style></head><body>
<h1>bazaar bench</h1>
<p>{{.R.Time.Format "2006-01-02 15:04:05 MST"}}{{if .R.Target}} · target {{.R.Target}}{{end}}</p>
{{if .R.Command}}<p><code>{{.R.Command}}</code></p>{{end}}
<table><tr><th>scenario</th><th>mode</th><th>requests</th><th>errors</th><th>rate/s</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th>vs baseline</th><th>server CPU cores</th><th>server RSS MB</th></tr>
{{range .R.Results}}<tr><td>{{.Scenario}}</td><td>{{.Mode}} {{if eq .Mode "open"}}{{.Rate}}/s{{else}}×{{.Concurrency}}{{end}}</td><td>{{.Requests}}</td><td>{{.ErrorCount}}{{range $k, $v := .Errors}} {{$k}}:{{$v}}{{end}}</td>
<td>{{f1 .Throughput}}</td><td>{{f3 .Latency.P50}}</td><td>{{f3 .Latency.P90}}</td><td>{{f3 .Latency.P99}}</td><td>{{f3 .Latency.P999}}</td><td>{{f3 .Latency.Max}}</td><td>{{pct .Baseline}}</td>
<td>{{with .Server}}{{printf "%.2f" .CPUCores}}{{else}}-{{end}}</td><td>{{with .Server}}{{f1 .RSSAfterMB}}{{else}}-{{end}}</td></tr>
{{end}}</table>
<h2>Latency by percentile</h2>
{{.SVG}}
{{range .R.Results}}{{if .Note}}<p>{{.Scenario}}: {{.Note}}</p>{{end}}{{end}}
</body></html>
`))

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"}

// LatencySVG draws every result's latency against percentile on the HDR
// "nines" scale (x = -log10(1 - p): 0 %, 90 %, 99 %, 99.9 %, 99.99 %) with a
// logarithmic latency axis, hand-written SVG.
func LatencySVG(results []*Result) string {
	const (
		width, height         = 760, 420
		left, right, top, bot = 70, 160, 20, 50
		maxNines              = 4.0
	)
	pw, ph := float64(width-left-right), float64(height-top-bot)
	lo, hi := math.Inf(1), 0.0
	for _, r := range results {
		for _, p := range r.Curve {
			lo, hi = math.Min(lo, p.Millis), math.Max(hi, p.Millis)
		}
	}
	if hi == 0 {
		lo, hi = 0.01, 1
	}
	lo = math.Max(lo, 0.001)
	// Whole decades around the data.
	dlo, dhi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if dhi <= dlo {
		dhi = dlo + 1
	}
	x := func(p float64) float64 {
		n := math.Min(-math.Log10(1-math.Min(p, 99.99)/100), maxNines)
		return float64(left) + n/maxNines*pw
	}
	y := func(v float64) float64 {
		l := math.Log10(math.Max(v, lo))
		return float64(top) + ph - (l-dlo)/(dhi-dlo)*ph
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`, width, height, width, height)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.0f" height="%.0f" fill="none" stroke="#999"/>`, left, top, pw, ph)
	for i, label := range []string{"0%", "90%", "99%", "99.9%", "99.99%"} {
		xi := float64(left) + float64(i)/maxNines*pw
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.0f" stroke="#eee"/>`, xi, top, xi, float64(top)+ph)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`, xi, float64(top)+ph+18, label)
	}
	for d := dlo; d <= dhi; d++ {
		yi := y(math.Pow(10, d))
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#eee"/>`, left, yi, float64(left)+pw, yi)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s ms</text>`, left-6, yi+4, trimFloat(math.Pow(10, d)))
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%d" text-anchor="middle">percentile</text>`, float64(left)+pw/2, height-8)
	for i, r := range results {
		color := palette[i%len(palette)]
		var pts []string
		for _, p := range r.Curve {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.Percentile), y(p.Millis)))
		}
		if len(pts) > 0 {
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, color, strings.Join(pts, " "))
		}
		ly := top + 10 + i*18
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%d" x2="%.0f" y2="%d" stroke="%s" stroke-width="3"/>`, float64(left)+pw+10, ly, float64(left)+pw+30, ly, color)
		fmt.Fprintf(&b, `<text x="%.0f" y="%d">%s</text>`, float64(left)+pw+36, ly+4, template.HTMLEscapeString(r.Scenario))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func trimFloat(v float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}
