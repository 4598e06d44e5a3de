package main

import (
	"context"
	"net"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/bazaarhq/bazaar/examples/calculator"
	calculatorv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/calculator/v1"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestRun drives the program's run against a real calculator server over
// TCP and checks what it prints for every command, and how it reports
// failures: code, message and each error detail.
func TestRun(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	tests := []struct {
		name    string
		args    []string
		want    string   // the whole stdout, when the command succeeds
		wantErr []string // substrings of the error, when it fails
	}{
		{name: "add", args: []string{"add", "2", "3"}, want: "5\n"},
		{name: "add decimals", args: []string{"add", "0.1", "0.2"}, want: "0.3\n"},
		{name: "sub negative", args: []string{"sub", "-5", "3"}, want: "-8\n"},
		{name: "mul mixed", args: []string{"mul", "2.5", "4"}, want: "10\n"},
		{name: "div ints", args: []string{"div", "7", "2"}, want: "3 remainder 1\n"},
		{name: "div exact", args: []string{"div", "1", "8.0"}, want: "0.125\n"},
		{name: "div rounded", args: []string{"div", "2", "3.0"}, want: "0.666666666666666666666666666667 (rounded)\n"},
		{name: "avg", args: []string{"avg", "1", "2", "3", "4.5"}, want: "2.625 (average of 4)\n"},
		{name: "factor", args: []string{"factor", "360"}, want: "2\n2\n2\n3\n3\n5\n"},
		{name: "factor semiprime", args: []string{"factor", "4611685975477714963"}, want: "2147483629\n2147483647\n"},
		{name: "max", args: []string{"max", "3", "-1", "4", "1", "5"},
			want: "max 3 after 1\nmax 3 after 2\nmax 4 after 3\nmax 4 after 4\nmax 5 after 5\n"},
		{name: "max of none", args: []string{"max"}, want: ""},
		{name: "div by zero", args: []string{"div", "1", "0.000"}, wantErr: []string{
			"Divide failed: InvalidArgument: b: the divisor must not be zero",
			"\n  reason: DIVISION_BY_ZERO (bazaar.dev)",
			"\n  request_id: ",
			"\n  field b: the divisor must not be zero",
		}},
		{name: "overflow", args: []string{"mul", "9223372036854775807", "2"}, wantErr: []string{
			"Multiply failed: OutOfRange: 9223372036854775807 × 2 does not fit in int64",
			"\n  reason: INT64_OVERFLOW (bazaar.dev)",
		}},
		{name: "invalid decimal", args: []string{"add", "1.2.3", "1"}, wantErr: []string{
			"Add failed: InvalidArgument: a.decimal: ",
			"\n  reason: INVALID_REQUEST (bazaar.dev)",
			"\n  field a.decimal: ",
		}},
		{name: "avg of none", args: []string{"avg"}, wantErr: []string{
			"Average failed: InvalidArgument:",
			"\n  reason: EMPTY_STREAM (bazaar.dev)",
			"\n  field number: ",
		}},
		{name: "factor 1", args: []string{"factor", "1"}, wantErr: []string{
			"PrimeFactors failed: InvalidArgument:", "\n  field number: ",
		}},
		{name: "no command", args: nil, wantErr: []string{"missing command"}},
		{name: "unknown command", args: []string{"pow", "2", "3"}, wantErr: []string{`unknown command "pow"`}},
		{name: "one operand", args: []string{"add", "1"}, wantErr: []string{"add wants two numbers A B, got 1"}},
		{name: "not a number", args: []string{"sub", "1e5", "1"}, wantErr: []string{`"1e5" is neither an int64 nor a decimal`}},
		{name: "int too big", args: []string{"add", "9223372036854775808", "1"}, wantErr: []string{`"9223372036854775808" is neither`}},
		{name: "factor decimal", args: []string{"factor", "1.5"}, wantErr: []string{`factor: "1.5" is not an int64`}},
		{name: "max decimal", args: []string{"max", "1", "2.5"}, wantErr: []string{`max: "2.5" is not an int64`}},
		{name: "bad timeout", args: []string{"-timeout", "-1s", "add", "1", "2"}, wantErr: []string{"-timeout -1s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out strings.Builder
			args := append([]string{"-addr", addr, "-timeout", "10s"}, tt.args...)
			err := run(t.Context(), args, &out)
			if tt.wantErr == nil {
				if err != nil || out.String() != tt.want {
					t.Errorf("run(%q) = %v, printing %q; want nil, printing %q", tt.args, err, out.String(), tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("run(%q) = nil, printing %q; want an error", tt.args, out.String())
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("run(%q) = %q, want it to contain %q", tt.args, err, want)
				}
			}
		})
	}
}

// TestRunAverageCap checks that the RESOURCE_EXHAUSTED of a too long
// Average stream reaches the user with its QuotaFailure detail.
func TestRunAverageCap(t *testing.T) {
	t.Parallel()
	addr := startServer(t, calculator.WithMaxAverageCount(2))
	var out strings.Builder
	err := run(t.Context(), []string{"-addr", addr, "-timeout", "10s", "avg", "1", "2", "3"}, &out)
	for _, want := range []string{
		"Average failed: ResourceExhausted: too many numbers",
		"\n  reason: TOO_MANY_NUMBERS (bazaar.dev)",
		"\n  quota numbers per Average stream: at most 2 numbers per Average stream",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("run(avg 1 2 3) with a cap of 2 = %v, want an error containing %q", err, want)
		}
	}
}

// startServer serves a Calculator on a real grpcx server on a free loopback
// port, the way the server program does, until the test ends.
func startServer(t *testing.T, opts ...calculator.Option) string {
	t.Helper()
	srv, err := grpcx.NewServer(grpcx.WithName("calculator-client-test"))
	if err != nil {
		t.Fatalf("grpcx.NewServer() = %v", err)
	}
	calculatorv1.RegisterCalculatorServiceServer(srv, calculator.NewCalculator(opts...))
	var lc net.ListenConfig
	lis, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Server.Serve() = %v, want nil after a graceful stop", err)
		}
	})
	return lis.Addr().String()
}
