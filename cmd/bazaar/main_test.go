package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	calculatorv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/calculator/v1"
	helloworldv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func noEnv(string) string { return "" }

// startUp runs `bazaar up` on free ports and returns the listener table
// (service -> address) once it is printed, and a stop func that returns
// run's error.
func startUp(t testing.TB, extra ...string) (map[string]string, func() error) {
	t.Helper()
	return startUpIn(t, t.TempDir(), extra...)
}

// startUpIn is startUp with a chosen data dir.
func startUpIn(t testing.TB, dataDir string, extra ...string) (map[string]string, func() error) {
	t.Helper()
	addrs, stop, _ := startUpOut(t, dataDir, extra...)
	return addrs, stop
}

// startUpOut is startUpIn that also returns everything run printed.
func startUpOut(t testing.TB, dataDir string, extra ...string) (map[string]string, func() error, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	out := &syncBuffer{}
	// Generous limits, so tests that make quick calls are not limited; the
	// test of limiting passes its own (a later flag wins).
	args := append([]string{"up", "--base-port", "0", "--admin-addr", "127.0.0.1:0", "--data-dir", dataDir,
		"--rate-limit", "1000/10000", "--anonymous-rate-limit", "1000/10000"}, extra...)
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, noEnv, out) }()
	row := regexp.MustCompile(`(?m)^(\w+)\s+(?:http://)?(127\.0\.0\.1:\d+)\s`)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "data dir:") {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("run(up) = %v before printing its listeners; output:\n%s", err, out.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("run(up) printed no listener table in 10s:\n%s", out.String())
		}
	}
	addrs := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(out.String(), -1) {
		addrs[m[1]] = m[2]
	}
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return addrs, stop, out
}

func dial(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestUp is the newcomer's first five minutes: everything listens, health
// says SERVING, Divide by zero explains itself, metrics count the calls,
// and SIGTERM drains cleanly.
func TestUp(t *testing.T) {
	t.Parallel()
	addrs, stop := startUp(t)
	for _, name := range []string{"helloworld", "calculator", "admin"} {
		if addrs[name] == "" {
			t.Fatalf("listener table lacks %s: %v", name, addrs)
		}
	}

	hello := helloworldv1.NewGreeterServiceClient(dial(t, addrs["helloworld"]))
	resp, err := hello.SayHello(t.Context(), &helloworldv1.SayHelloRequest{Name: "newcomer"})
	if err != nil || !strings.Contains(resp.GetMessage(), "newcomer") {
		t.Errorf("SayHello(newcomer) = %v, %v, want a greeting", resp, err)
	}

	calcConn := dial(t, addrs["calculator"])
	h, err := healthpb.NewHealthClient(calcConn).Check(t.Context(), &healthpb.HealthCheckRequest{Service: "bazaar.examples.calculator.v1.CalculatorService"})
	if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health.Check(calculator) = %v, %v, want SERVING", h, err)
	}
	calc := calculatorv1.NewCalculatorServiceClient(calcConn)
	one := &calculatorv1.Number{Value: &calculatorv1.Number_Int{Int: 1}}
	zero := &calculatorv1.Number{Value: &calculatorv1.Number_Int{Int: 0}}
	_, err = calc.Divide(t.Context(), &calculatorv1.DivideRequest{A: one, B: zero})
	d := errs.FromError(err)
	if d.Code != codes.InvalidArgument || len(d.FieldViolations) == 0 || d.FieldViolations[0].Field != "b" {
		t.Errorf("Divide(1, 0) = %v (violations %+v), want InvalidArgument with a BadRequest violation on b", err, d.FieldViolations)
	}

	admin := "http://" + addrs["admin"]
	if code, body := httpGet(t, admin+"/metrics"); code != 200 || !strings.Contains(body, "grpc_server_handled_total") {
		t.Errorf("GET /metrics = %d, lacks grpc_server_handled_total", code)
	}
	for _, path := range []string{"/healthz", "/readyz", "/debug/pprof/"} {
		if code, _ := httpGet(t, admin+path); code != 200 {
			t.Errorf("GET %s = %d, want 200", path, code)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("run(up) after cancel = %v, want nil", err)
	}
}

func TestUpFailsCleanlyOnTakenPort(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	err = run(t.Context(), []string{"up", "--base-port", "0", "--admin-addr", "127.0.0.1:0",
		"--data-dir", t.TempDir(), "--calculator-addr", taken.Addr().String()}, noEnv, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "calculator") {
		t.Fatalf("run(up) with calculator's port taken = %v, want an error naming calculator", err)
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"BAZAAR_DATA_DIR":        "/from/env",
		"BAZAAR_BASE_PORT":       "6000",
		"BAZAAR_LOG_LEVEL":       "debug",
		"BAZAAR_CALCULATOR_ADDR": "127.0.0.1:7000",
	}
	cfg, err := parseUpConfig([]string{"--data-dir", "/from/flag"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "/from/flag" {
		t.Errorf("DataDir = %q, want the flag to win over the environment", cfg.DataDir)
	}
	if got := cfg.serviceAddr(0, "helloworld"); got != "127.0.0.1:6000" {
		t.Errorf("helloworld addr = %q, want 127.0.0.1:6000 from BAZAAR_BASE_PORT", got)
	}
	if got := cfg.serviceAddr(1, "calculator"); got != "127.0.0.1:7000" {
		t.Errorf("calculator addr = %q, want 127.0.0.1:7000 from BAZAAR_CALCULATOR_ADDR", got)
	}
	if cfg.LogLevel.String() != "DEBUG" {
		t.Errorf("LogLevel = %v, want DEBUG", cfg.LogLevel)
	}
	for _, bad := range [][]string{
		{"--log-level", "loud"},
		{"--log-format", "xml"},
		{"--trace-sample-ratio", "2"},
		{"--shutdown-grace", "-1s"},
		{"--base-port", "65535"},
		{"--base-port", "-1"},
		{"--helloworld-addr", "nonsense"},
		{"stray"},
		{"--rate-limit", "fast"},
		{"--anonymous-rate-limit", "10/0"},
	} {
		if _, err := parseUpConfig(bad, noEnv, io.Discard); err == nil {
			t.Errorf("parseUpConfig(%q) = nil error, want a refusal", bad)
		}
	}
}

func TestVersionAndUsage(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"version"}, noEnv, &out); err != nil || !strings.HasPrefix(out.String(), "bazaar ") {
		t.Errorf("run(version) = %v, output %q", err, out.String())
	}
	if err := run(t.Context(), []string{"frobnicate"}, noEnv, io.Discard); err == nil {
		t.Errorf("run(frobnicate) = nil, want an error")
	}
	if err := run(t.Context(), nil, noEnv, io.Discard); err == nil {
		t.Errorf("run() = nil, want an error")
	}
}
