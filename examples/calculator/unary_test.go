package calculator_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	calculatorv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/calculator/v1"
)

// binaryCase is one unary call with operands a and b, its expected result
// (as formatNumber prints it) or its expected error.
type binaryCase struct {
	a, b    *calculatorv1.Number
	want    string
	wantErr *wantError
}

func (c binaryCase) String() string { return formatNumber(c.a) + ", " + formatNumber(c.b) }

var (
	overflow        = &wantError{code: codes.OutOfRange, reason: "INT64_OVERFLOW"}
	decimalOverflow = &wantError{code: codes.OutOfRange, reason: "DECIMAL_OVERFLOW"}
)

// thirtyNines is the largest integer part the API accepts.
var thirtyNines = strings.Repeat("9", 30)

func TestAdd(t *testing.T) {
	t.Parallel()
	client := startCalculator(t)
	tests := []binaryCase{
		{a: pbInt(2), b: pbInt(3), want: "int:5"},
		{a: pbInt(-7), b: pbInt(2), want: "int:-5"},
		{a: pbInt(math.MinInt64), b: pbInt(math.MaxInt64), want: "int:-1"},
		{a: pbInt(math.MaxInt64), b: pbInt(0), want: "int:9223372036854775807"},
		{a: pbDec("0.1"), b: pbDec("0.2"), want: "decimal:0.3"},
		{a: pbDec("1.50"), b: pbDec("2.25"), want: "decimal:3.75"},
		{a: pbDec("-1.50"), b: pbDec("1.5"), want: "decimal:0"},
		{a: pbDec("-0.000000000000000000000000000001"), b: pbDec("0"), want: "decimal:-0.000000000000000000000000000001"},
		{a: pbInt(1), b: pbDec("0.5"), want: "decimal:1.5"},
		{a: pbDec("3"), b: pbInt(4), want: "decimal:7"},
		// A decimal operand makes the sum exact where int64 would overflow.
		{a: pbInt(math.MaxInt64), b: pbDec("1"), want: "decimal:9223372036854775808"},
		{a: pbDec(thirtyNines), b: pbDec(thirtyNines), want: "decimal:1" + strings.Repeat("9", 29) + "8"},
		{a: pbInt(math.MaxInt64), b: pbInt(1), wantErr: overflow},
		{a: pbInt(math.MinInt64), b: pbInt(-1), wantErr: overflow},
	}
	for _, tt := range tests {
		t.Run(tt.String(), func(t *testing.T) {
			t.Parallel()
			resp, err := client.Add(callContext(t), &calculatorv1.AddRequest{A: tt.a, B: tt.b})
			checkBinary(t, fmt.Sprintf("client.Add(%v)", tt), formatNumber(resp.GetResult()), err, tt)
		})
	}
}

func TestSubtract(t *testing.T) {
	t.Parallel()
	client := startCalculator(t)
	tests := []binaryCase{
		{a: pbInt(5), b: pbInt(7), want: "int:-2"},
		{a: pbInt(-5), b: pbInt(-7), want: "int:2"},
		{a: pbInt(math.MinInt64), b: pbInt(math.MinInt64), want: "int:0"},
		{a: pbDec("1.000"), b: pbDec("0.001"), want: "decimal:0.999"},
		{a: pbDec("-2.5"), b: pbInt(1), want: "decimal:-3.5"},
		{a: pbInt(0), b: pbDec("0.25"), want: "decimal:-0.25"},
		{a: pbInt(math.MinInt64), b: pbDec("1"), want: "decimal:-9223372036854775809"},
		{a: pbInt(math.MinInt64), b: pbInt(1), wantErr: overflow},
		{a: pbInt(0), b: pbInt(math.MinInt64), wantErr: overflow},
		{a: pbInt(math.MaxInt64), b: pbInt(-1), wantErr: overflow},
	}
	for _, tt := range tests {
		t.Run(tt.String(), func(t *testing.T) {
			t.Parallel()
			resp, err := client.Subtract(callContext(t), &calculatorv1.SubtractRequest{A: tt.a, B: tt.b})
			checkBinary(t, fmt.Sprintf("client.Subtract(%v)", tt), formatNumber(resp.GetResult()), err, tt)
		})
	}
}

func TestMultiply(t *testing.T) {
	t.Parallel()
	client := startCalculator(t)
	tests := []binaryCase{
		{a: pbInt(6), b: pbInt(7), want: "int:42"},
		{a: pbInt(-3), b: pbInt(4), want: "int:-12"},
		{a: pbInt(-3), b: pbInt(-4), want: "int:12"},
		{a: pbInt(0), b: pbInt(math.MinInt64), want: "int:0"},
		{a: pbInt(math.MinInt64), b: pbInt(1), want: "int:-9223372036854775808"},
		{a: pbInt(3037000499), b: pbInt(3037000499), want: "int:9223372030926249001"},
		{a: pbDec("1.5"), b: pbDec("1.5"), want: "decimal:2.25"},
		{a: pbDec("0.1"), b: pbInt(3), want: "decimal:0.3"},
		{a: pbDec("-0.5"), b: pbDec("0.000"), want: "decimal:0"},
		// The product of two 30-place fractions keeps all 60 places.
		{a: pbDec("0.000000000000000000000000000001"), b: pbDec("0.000000000000000000000000000003"),
			want: "decimal:0." + strings.Repeat("0", 59) + "3"},
		{a: pbInt(math.MaxInt64), b: pbDec("2"), want: "decimal:18446744073709551614"},
		{a: pbInt(3037000500), b: pbInt(3037000500), wantErr: overflow},
		{a: pbInt(math.MaxInt64), b: pbInt(2), wantErr: overflow},
		{a: pbInt(math.MinInt64), b: pbInt(-1), wantErr: overflow},
		{a: pbInt(-1), b: pbInt(math.MinInt64), wantErr: overflow},
		{a: pbDec(thirtyNines), b: pbDec(thirtyNines), wantErr: decimalOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.String(), func(t *testing.T) {
			t.Parallel()
			resp, err := client.Multiply(callContext(t), &calculatorv1.MultiplyRequest{A: tt.a, B: tt.b})
			checkBinary(t, fmt.Sprintf("client.Multiply(%v)", tt), formatNumber(resp.GetResult()), err, tt)
		})
	}
}

func TestDivide(t *testing.T) {
	t.Parallel()
	client := startCalculator(t)
	divisionByZero := &wantError{code: codes.InvalidArgument, reason: "DIVISION_BY_ZERO", field: "b"}
	tests := []struct {
		a, b          *calculatorv1.Number
		wantQuotient  string
		wantRemainder *int64 // nil: no remainder expected
		wantExact     bool
		wantErr       *wantError
	}{
		// Two ints: truncation toward zero, remainder with the dividend's sign.
		{a: pbInt(7), b: pbInt(2), wantQuotient: "int:3", wantRemainder: ptr(1)},
		{a: pbInt(-7), b: pbInt(2), wantQuotient: "int:-3", wantRemainder: ptr(-1)},
		{a: pbInt(7), b: pbInt(-2), wantQuotient: "int:-3", wantRemainder: ptr(1)},
		{a: pbInt(6), b: pbInt(3), wantQuotient: "int:2", wantRemainder: ptr(0), wantExact: true},
		{a: pbInt(0), b: pbInt(5), wantQuotient: "int:0", wantRemainder: ptr(0), wantExact: true},
		{a: pbInt(math.MinInt64), b: pbInt(1), wantQuotient: "int:-9223372036854775808", wantRemainder: ptr(0), wantExact: true},
		{a: pbInt(math.MinInt64), b: pbInt(2), wantQuotient: "int:-4611686018427387904", wantRemainder: ptr(0), wantExact: true},
		// Decimals: exact when the quotient terminates within 30 places.
		{a: pbDec("1"), b: pbDec("8"), wantQuotient: "decimal:0.125", wantExact: true},
		{a: pbInt(1), b: pbDec("4.0"), wantQuotient: "decimal:0.25", wantExact: true},
		{a: pbDec("-7.5"), b: pbInt(2), wantQuotient: "decimal:-3.75", wantExact: true},
		{a: pbDec("10"), b: pbDec("0.1"), wantQuotient: "decimal:100", wantExact: true},
		// Otherwise rounded half to even at 30 places.
		{a: pbDec("1"), b: pbDec("3"), wantQuotient: "decimal:0." + strings.Repeat("3", 30)},
		{a: pbDec("2"), b: pbDec("3"), wantQuotient: "decimal:0." + strings.Repeat("6", 29) + "7"},
		{a: pbDec("-2"), b: pbDec("3"), wantQuotient: "decimal:-0." + strings.Repeat("6", 29) + "7"},
		// Ties: 0.5e-30 rounds to 0 (even), 1.5e-30 and 2.5e-30 both to 2e-30.
		{a: pbDec("0.000000000000000000000000000001"), b: pbInt(2), wantQuotient: "decimal:0"},
		{a: pbDec("0.000000000000000000000000000003"), b: pbInt(2), wantQuotient: "decimal:0.000000000000000000000000000002"},
		{a: pbDec("0.000000000000000000000000000005"), b: pbInt(2), wantQuotient: "decimal:0.000000000000000000000000000002"},
		{a: pbDec("-0.000000000000000000000000000005"), b: pbInt(2), wantQuotient: "decimal:-0.000000000000000000000000000002"},
		// Terminating, but beyond 30 places: rounded too.
		{a: pbDec("0.000000000000000000000000000001"), b: pbInt(1024), wantQuotient: "decimal:0"},
		// Errors.
		{a: pbInt(1), b: pbInt(0), wantErr: divisionByZero},
		{a: pbDec("1.5"), b: pbDec("0.000"), wantErr: divisionByZero},
		{a: pbInt(1), b: pbDec("-0"), wantErr: divisionByZero},
		{a: pbDec("0"), b: pbInt(0), wantErr: divisionByZero},
		{a: pbInt(math.MinInt64), b: pbInt(-1), wantErr: overflow},
		{a: pbDec(thirtyNines), b: pbDec("0.000000000000000000000000000001"), wantErr: decimalOverflow},
	}
	for _, tt := range tests {
		call := fmt.Sprintf("client.Divide(%s, %s)", formatNumber(tt.a), formatNumber(tt.b))
		t.Run(call, func(t *testing.T) {
			t.Parallel()
			resp, err := client.Divide(callContext(t), &calculatorv1.DivideRequest{A: tt.a, B: tt.b})
			if tt.wantErr != nil {
				checkError(t, call, err, *tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("%s = %v, want %s", call, err, tt.wantQuotient)
			}
			if got := formatNumber(resp.GetQuotient()); got != tt.wantQuotient {
				t.Errorf("%s quotient = %s, want %s", call, got, tt.wantQuotient)
			}
			switch {
			case tt.wantRemainder == nil && resp.Remainder != nil:
				t.Errorf("%s remainder = %d, want none", call, resp.GetRemainder())
			case tt.wantRemainder != nil && (resp.Remainder == nil || *resp.Remainder != *tt.wantRemainder):
				t.Errorf("%s remainder = %v, want %d", call, resp.Remainder, *tt.wantRemainder)
			}
			if resp.GetExact() != tt.wantExact {
				t.Errorf("%s exact = %v, want %v", call, resp.GetExact(), tt.wantExact)
			}
		})
	}
}

// TestValidation proves the server's protovalidate interceptor guards the
// calculator: malformed requests fail with INVALID_ARGUMENT and a field
// violation naming the offending field, and never reach a handler.
func TestValidation(t *testing.T) {
	t.Parallel()
	client := startCalculator(t)
	invalid := func(field string) wantError {
		return wantError{code: codes.InvalidArgument, reason: "INVALID_REQUEST", field: field}
	}
	tests := []struct {
		name string
		req  *calculatorv1.AddRequest
		want wantError
	}{
		{"exponent", &calculatorv1.AddRequest{A: pbDec("1e5"), B: pbInt(1)}, invalid("a.decimal")},
		{"leading plus", &calculatorv1.AddRequest{A: pbInt(1), B: pbDec("+1")}, invalid("b.decimal")},
		{"bare point", &calculatorv1.AddRequest{A: pbDec(".5"), B: pbInt(1)}, invalid("a.decimal")},
		{"trailing point", &calculatorv1.AddRequest{A: pbDec("5."), B: pbInt(1)}, invalid("a.decimal")},
		{"empty decimal", &calculatorv1.AddRequest{A: pbDec(""), B: pbInt(1)}, invalid("a.decimal")},
		{"31 integer digits", &calculatorv1.AddRequest{A: pbDec("1" + thirtyNines), B: pbInt(1)}, invalid("a.decimal")},
		{"31 fraction digits", &calculatorv1.AddRequest{A: pbDec("0." + strings.Repeat("1", 31)), B: pbInt(1)}, invalid("a.decimal")},
		{"missing a", &calculatorv1.AddRequest{B: pbInt(1)}, invalid("a")},
		{"missing b", &calculatorv1.AddRequest{A: pbInt(1)}, invalid("b")},
		{"empty number", &calculatorv1.AddRequest{A: &calculatorv1.Number{}, B: pbInt(1)}, invalid("a.value")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := client.Add(callContext(t), tt.req)
			checkError(t, fmt.Sprintf("client.Add(%v)", tt.req), err, tt.want)
		})
	}

	t.Run("Divide missing b", func(t *testing.T) {
		t.Parallel()
		req := &calculatorv1.DivideRequest{A: pbInt(1)}
		_, err := client.Divide(callContext(t), req)
		checkError(t, fmt.Sprintf("client.Divide(%v)", req), err, invalid("b"))
	})
	t.Run("PrimeFactors below 2", func(t *testing.T) {
		t.Parallel()
		for _, n := range []int64{1, 0, -12, math.MinInt64} {
			stream, err := client.PrimeFactors(callContext(t), &calculatorv1.PrimeFactorsRequest{Number: n})
			if err == nil {
				_, err = stream.Recv()
			}
			checkError(t, fmt.Sprintf("client.PrimeFactors(%d)", n), err, invalid("number"))
		}
	})
}

// checkBinary checks the outcome of an Add, Subtract or Multiply call.
func checkBinary(t *testing.T, call, got string, err error, tt binaryCase) {
	t.Helper()
	if tt.wantErr != nil {
		checkError(t, call, err, *tt.wantErr)
		return
	}
	if err != nil {
		t.Fatalf("%s = %v, want %s", call, err, tt.want)
	}
	if got != tt.want {
		t.Errorf("%s = %s, want %s", call, got, tt.want)
	}
}

func ptr(v int64) *int64 { return &v }
