package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bazaarhq/bazaar/internal/bench"
	"github.com/bazaarhq/bazaar/internal/bench/scenarios"
)

// TestBenchSmoke is CI's smoke of every `bazaar bench` scenario: against a
// `bazaar up` of its own (limits far above the load), each scenario runs
// for about a second with 4 workers, after the echo baseline; every one
// must produce results with no errors, the JSON must parse, and the report
// must be written. The figures mean nothing here (the race detector, a
// shared machine): docs/performance.md has the real ones.
func TestBenchSmoke(t *testing.T) {
	t.Parallel()
	const adminPassword = "admin password 4 bench"
	addrs, _ := startUp(t, "--admin-password", adminPassword,
		"--rate-limit", "1000000/1000000", "--anonymous-rate-limit", "1000000/1000000")
	s := openShop(t, addrs, adminPassword)
	for i := range 30 {
		s.stockedProduct(t, fmt.Sprintf("SMOKE-%02d", i), int64(3+i), 100)
	}
	dir := t.TempDir()
	names := append(append([]string{}, scenarios.All...), scenarios.Extra...)
	var out syncBuffer
	env := map[string]string{"BAZAAR_ADMIN_PASSWORD": adminPassword}
	err := benchCommand(t.Context(), []string{
		"--scenario", strings.Join(names, ","), "--baseline", "echo",
		"--duration", "1s", "--warmup", "100ms", "--concurrency", "4", "--subscribers", "6",
		"--image-size", "200000", // 4 chunks an upload
		"--json", "--report", dir,
		"--addr", addrs["catalog"], "--identity-addr", addrs["identity"], "--order-addr", addrs["order"],
		"--notification-addr", addrs["notification"], "--admin-addr", addrs["admin"],
	}, func(k string) string { return env[k] }, &out)
	if err != nil {
		t.Fatalf("bazaar bench = %v\n%s", err, out.String())
	}
	var rep bench.Report
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, out.String())
	}
	got := map[string]*bench.Result{}
	for _, r := range rep.Results {
		got[r.Scenario] = r
	}
	for _, name := range names {
		r := got[name]
		switch {
		case r == nil:
			t.Errorf("%s: no result", name)
		case r.OK == 0 || r.Throughput <= 0 || r.Latency.P50 <= 0 || r.Latency.P99 < r.Latency.P50:
			t.Errorf("%s: ok %d, %.1f/s, p50 %.3f ms, p99 %.3f ms: want requests done", name, r.OK, r.Throughput, r.Latency.P50, r.Latency.P99)
		case len(r.Errors) != 0:
			t.Errorf("%s: errors %v, want none", name, r.Errors)
		}
		if r == nil {
			continue
		}
		if name != "echo" && (r.Baseline == nil || r.Baseline.Scenario != "echo" || r.Baseline.Ratio <= 0) {
			t.Errorf("%s: baseline %+v, want a ratio to echo", name, r.Baseline)
		}
		if name != "echo" && name != "upload-sink" && r.Server == nil {
			t.Errorf("%s: no server usage, though the target is local", name)
		}
	}
	if r := got["notify"]; r != nil && r.Note == "" {
		t.Error("notify: no note on what its latency measures")
	}
	for _, f := range []string{"report.html", "latency.svg", "results.json"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || len(b) == 0 {
			t.Errorf("report %s: %v", f, err)
		}
	}

	// Text output, a request count and the open loop, on the baseline.
	out = syncBuffer{}
	if err := benchCommand(t.Context(), []string{"--scenario", "echo", "--requests", "200", "--rate", "500", "--warmup", "0"},
		noEnv, &out); err != nil {
		t.Fatalf("bazaar bench --scenario echo = %v\n%s", err, out.String())
	}
	if txt := out.String(); !strings.Contains(txt, "P99 ms") || !strings.Contains(txt, "open 500/s") || !strings.Contains(txt, "200") {
		t.Errorf("text output:\n%s", txt)
	}

	// Secrets stay out of reports.
	if got := strings.Join(redactSecrets([]string{"--admin-password", "s3cret", "--token=abc", "-duration", "1s"}), " "); got != "--admin-password REDACTED --token=REDACTED -duration 1s" {
		t.Errorf("redactSecrets = %q", got)
	}

	// Bad flags are refused.
	for _, bad := range [][]string{{"--scenario", "nope"}, {"--baseline", "calculator"}, {"--rate", "-1"}, {"stray"}} {
		if err := benchCommand(t.Context(), bad, noEnv, &syncBuffer{}); err == nil {
			t.Errorf("bazaar bench %q = nil, want an error", bad)
		}
	}
}
