package main

import (
	"strings"
	"testing"

	"github.com/bazaarhq/bazaar/examples/calculator"
	"github.com/bazaarhq/bazaar/examples/internal/standalone"
	"github.com/bazaarhq/bazaar/examples/internal/standalonetest"
	calculatorv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/calculator/v1"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// TestRun drives the program's run against a real calculator server over
// TCP and checks what it prints for every command, and how it reports
// failures: code, message and each error detail.
func TestRun(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	standalonetest.RunCases(t, run, []string{"-addr", addr, "-timeout", "10s"}, []standalonetest.Case{
		{Name: "add", Args: []string{"add", "2", "3"}, Want: "5\n"},
		{Name: "add decimals", Args: []string{"add", "0.1", "0.2"}, Want: "0.3\n"},
		{Name: "sub negative", Args: []string{"sub", "-5", "3"}, Want: "-8\n"},
		{Name: "mul mixed", Args: []string{"mul", "2.5", "4"}, Want: "10\n"},
		{Name: "div ints", Args: []string{"div", "7", "2"}, Want: "3 remainder 1\n"},
		{Name: "div exact", Args: []string{"div", "1", "8.0"}, Want: "0.125\n"},
		{Name: "div rounded", Args: []string{"div", "2", "3.0"}, Want: "0.666666666666666666666666666667 (rounded)\n"},
		{Name: "avg", Args: []string{"avg", "1", "2", "3", "4.5"}, Want: "2.625 (average of 4)\n"},
		{Name: "factor", Args: []string{"factor", "360"}, Want: "2\n2\n2\n3\n3\n5\n"},
		{Name: "factor semiprime", Args: []string{"factor", "4611685975477714963"}, Want: "2147483629\n2147483647\n"},
		{Name: "max", Args: []string{"max", "3", "-1", "4", "1", "5"},
			Want: "max 3 after 1\nmax 3 after 2\nmax 4 after 3\nmax 4 after 4\nmax 5 after 5\n"},
		{Name: "max of none", Args: []string{"max"}, Want: ""},
		{Name: "div by zero", Args: []string{"div", "1", "0.000"}, WantErr: []string{
			"Divide failed: InvalidArgument: b: the divisor must not be zero",
			"\n  reason: DIVISION_BY_ZERO (bazaar.dev)",
			"\n  request_id: ",
			"\n  field b: the divisor must not be zero",
		}},
		{Name: "overflow", Args: []string{"mul", "9223372036854775807", "2"}, WantErr: []string{
			"Multiply failed: OutOfRange: 9223372036854775807 × 2 does not fit in int64",
			"\n  reason: INT64_OVERFLOW (bazaar.dev)",
		}},
		{Name: "invalid decimal", Args: []string{"add", "1.2.3", "1"}, WantErr: []string{
			"Add failed: InvalidArgument: a.decimal: ",
			"\n  reason: INVALID_REQUEST (bazaar.dev)",
			"\n  field a.decimal: ",
		}},
		{Name: "avg of none", Args: []string{"avg"}, WantErr: []string{
			"Average failed: InvalidArgument:",
			"\n  reason: EMPTY_STREAM (bazaar.dev)",
			"\n  field number: ",
		}},
		{Name: "factor 1", Args: []string{"factor", "1"}, WantErr: []string{
			"PrimeFactors failed: InvalidArgument:", "\n  field number: ",
		}},
		{Name: "unknown command", Args: []string{"pow", "2", "3"}, WantErr: []string{`unknown command "pow": want add, avg, div, factor, max, mul or sub`}},
		{Name: "one operand", Args: []string{"add", "1"}, WantErr: []string{"add wants two numbers A B, got 1"}},
		{Name: "not a number", Args: []string{"sub", "1e5", "1"}, WantErr: []string{`"1e5" is neither an int64 nor a decimal`}},
		{Name: "int too big", Args: []string{"add", "9223372036854775808", "1"}, WantErr: []string{`"9223372036854775808" is neither`}},
		{Name: "factor decimal", Args: []string{"factor", "1.5"}, WantErr: []string{`factor: "1.5" is not an int64`}},
		{Name: "max decimal", Args: []string{"max", "1", "2.5"}, WantErr: []string{`max: "2.5" is not an int64`}},
	})
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

// startServer serves a Calculator the way the server program does, with
// standalone.Server on a free loopback port, until the test ends, and
// returns its address.
func startServer(t *testing.T, opts ...calculator.Option) string {
	t.Helper()
	s := standalone.Server{Name: "calculator-client-test", Register: func(srv *grpcx.Server) {
		calculatorv1.RegisterCalculatorServiceServer(srv, calculator.NewCalculator(opts...))
	}}
	return standalonetest.Start(t, s.Run, "-addr", "127.0.0.1:0").Addr
}
