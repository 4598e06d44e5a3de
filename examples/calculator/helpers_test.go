package calculator_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/bazaarhq/bazaar/examples/calculator"
	"github.com/bazaarhq/bazaar/examples/internal/grpcxtest"
	calculatorv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/calculator/v1"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// testTimeout bounds every call of a test, so a hang fails fast instead of
// waiting for go test's global timeout.
const testTimeout = 10 * time.Second

// startCalculator serves a Calculator on a real grpcx.Server (so the
// platform's validation and error mapping run) over bufconn, and returns a
// client built by grpcx.NewClient. The server stops, and must stop cleanly,
// when the test ends.
func startCalculator(t *testing.T, opts ...calculator.Option) calculatorv1.CalculatorServiceClient {
	t.Helper()
	srv := newServer(t)
	calculatorv1.RegisterCalculatorServiceServer(srv, calculator.NewCalculator(opts...))
	cc, _ := grpcxtest.Serve(t, srv)
	return calculatorv1.NewCalculatorServiceClient(cc)
}

func newServer(t *testing.T, opts ...grpcx.ServerOption) *grpcx.Server {
	t.Helper()
	srv, err := grpcx.NewServer(append([]grpcx.ServerOption{grpcx.WithName("calculator-test")}, opts...)...)
	if err != nil {
		t.Fatalf("grpcx.NewServer() = %v", err)
	}
	return srv
}

// callContext is the context of one test call: the test's, with a deadline.
func callContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// wantError is the error a call should fail with: its code, its ErrorInfo
// reason and, when field is set, a google.rpc.BadRequest violation on field.
type wantError struct {
	code   codes.Code
	reason string
	field  string
}

// checkError fails the test unless err matches want. call names the call,
// for the failure message.
func checkError(t *testing.T, call string, err error, want wantError) {
	t.Helper()
	if err == nil {
		t.Errorf("%s = nil error, want code %v", call, want.code)
		return
	}
	d := errs.FromError(err)
	if d.Code != want.code {
		t.Errorf("%s = %v, want code %v", call, err, want.code)
	}
	if want.reason != "" && d.Reason != want.reason {
		t.Errorf("%s: ErrorInfo reason = %q, want %q (error %v)", call, d.Reason, want.reason, err)
	}
	if want.reason != "" && d.Domain != errs.Domain {
		t.Errorf("%s: ErrorInfo domain = %q, want %q", call, d.Domain, errs.Domain)
	}
	if want.field != "" && !slices.ContainsFunc(d.FieldViolations, func(v errs.FieldViolation) bool {
		return v.Field == want.field && v.Description != ""
	}) {
		t.Errorf("%s: field violations = %+v, want one on %q with a description", call, d.FieldViolations, want.field)
	}
}

// Constructors of protobuf numbers.

func pbInt(v int64) *calculatorv1.Number {
	return &calculatorv1.Number{Value: &calculatorv1.Number_Int{Int: v}}
}

func pbDec(s string) *calculatorv1.Number {
	return &calculatorv1.Number{Value: &calculatorv1.Number_Decimal{Decimal: s}}
}

// formatNumber prints a protobuf number for comparisons: "int:5",
// "decimal:2.5", or "<nil>".
func formatNumber(n *calculatorv1.Number) string {
	switch v := n.GetValue().(type) {
	case *calculatorv1.Number_Int:
		return "int:" + strconv.FormatInt(v.Int, 10)
	case *calculatorv1.Number_Decimal:
		return "decimal:" + v.Decimal
	}
	return "<nil>"
}
