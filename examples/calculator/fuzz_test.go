package calculator_test

import (
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/bazaarhq/bazaar/examples/calculator"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// FuzzArithmetic feeds arbitrary decimal strings and int64 pairs to the
// domain and checks it never panics and stays consistent:
//
//   - ParseDecimal accepts exactly what it can print back unchanged;
//   - decimal arithmetic is exact: a + b - b == a, a - a == 0, a × b ÷ b == a;
//   - int arithmetic agrees with math/big, and reports INT64_OVERFLOW
//     exactly when the true result does not fit;
//   - every error is a classified *errs.Error, never a bare one.
func FuzzArithmetic(f *testing.F) {
	seeds := []struct {
		a, b string
		x, y int64
	}{
		{"1.5", "-2.25", 7, -2},
		{"0.1", "0.2", 0, 1},
		{"-0.000", "0", -1, -9223372036854775808},
		{"999999999999999999999999999999", "0.000000000000000000000000000001", 9223372036854775807, 1},
		{"007.50", "3", -9223372036854775808, 2},
		{"1e5", "+1", 3037000500, 3037000500},
		{".5", "5.", 0, 0},
		{"-", "", 1 << 62, -3},
	}
	for _, s := range seeds {
		f.Add(s.a, s.b, s.x, s.y)
	}
	f.Fuzz(func(t *testing.T, as, bs string, x, y int64) {
		checkInts(t, x, y)
		a, errA := calculator.ParseDecimal(as)
		b, errB := calculator.ParseDecimal(bs)
		checkClassified(t, "ParseDecimal", errA)
		checkClassified(t, "ParseDecimal", errB)
		if errA != nil || errB != nil {
			return
		}
		checkRoundTrip(t, a)
		checkRoundTrip(t, b)
		checkDecimals(t, a, b)
		// Mixed operands promote the int: the same as the decimal arithmetic.
		xd, err := calculator.ParseDecimal(calculator.Int(x).String())
		if err != nil {
			t.Fatalf("ParseDecimal(%d) = %v", x, err)
		}
		sumMixed, errMixed := calculator.Add(calculator.Int(x), b)
		sumDec, errDec := calculator.Add(xd, b)
		if (errMixed == nil) != (errDec == nil) || (errMixed == nil && sumMixed.String() != sumDec.String()) {
			t.Errorf("Add(Int(%d), %v) = %v, %v; but as decimals %v, %v", x, b, sumMixed, errMixed, sumDec, errDec)
		}
	})
}

func checkRoundTrip(t *testing.T, n calculator.Number) {
	t.Helper()
	back, err := calculator.ParseDecimal(n.String())
	if err != nil || back.String() != n.String() {
		t.Errorf("ParseDecimal(%q) = %v, %v; want %s back", n.String(), back, err, n)
	}
}

func checkDecimals(t *testing.T, a, b calculator.Number) {
	t.Helper()
	sum, err := calculator.Add(a, b)
	checkClassified(t, "Add", err)
	if err == nil {
		back, err := calculator.Subtract(sum, b)
		if err != nil || back.String() != a.String() {
			t.Errorf("Add(%v, %v) - %v = %v, %v; want %v", a, b, b, back, err, a)
		}
	}
	if diff, err := calculator.Subtract(a, a); err != nil || !diff.IsZero() {
		t.Errorf("Subtract(%v, %v) = %v, %v; want 0", a, a, diff, err)
	}
	product, err := calculator.Multiply(a, b)
	checkClassified(t, "Multiply", err)
	q, divErr := calculator.Divide(product, b)
	checkClassified(t, "Divide", divErr)
	switch {
	case err != nil || b.IsZero():
		if b.IsZero() && errs.FromError(errs.ToStatus(divErr).Err()).Reason != "DIVISION_BY_ZERO" {
			t.Errorf("Divide(%v, %v) = %v, want DIVISION_BY_ZERO", product, b, divErr)
		}
	case fractionDigits(a.String()) <= calculator.RoundedPlaces:
		// a fits in the quotient's places, so a × b ÷ b is a, exactly.
		if divErr != nil || q.Value.String() != a.String() || !q.Exact {
			t.Errorf("Divide(Multiply(%v, %v), %v) = %+v, %v; want %v exactly", a, b, b, q, divErr, a)
		}
	}
}

// checkInts compares int64 arithmetic with math/big's.
func checkInts(t *testing.T, x, y int64) {
	t.Helper()
	bx, by := big.NewInt(x), big.NewInt(y)
	ops := []struct {
		name string
		op   func(a, b calculator.Number) (calculator.Number, error)
		want *big.Int
	}{
		{"Add", calculator.Add, new(big.Int).Add(bx, by)},
		{"Subtract", calculator.Subtract, new(big.Int).Sub(bx, by)},
		{"Multiply", calculator.Multiply, new(big.Int).Mul(bx, by)},
	}
	for _, o := range ops {
		got, err := o.op(calculator.Int(x), calculator.Int(y))
		checkInt(t, o.name, x, y, got, err, o.want)
	}
	q, err := calculator.Divide(calculator.Int(x), calculator.Int(y))
	if y == 0 {
		if d := errs.FromError(errs.ToStatus(err).Err()); d.Reason != "DIVISION_BY_ZERO" {
			t.Errorf("Divide(%d, 0) = %+v, %v; want DIVISION_BY_ZERO", x, q, err)
		}
		return
	}
	wantQ, wantR := new(big.Int).QuoRem(bx, by, new(big.Int)) // truncated, like Go's / and %
	checkInt(t, "Divide", x, y, q.Value, err, wantQ)
	if err == nil && (!q.HasRemainder || q.Remainder != wantR.Int64() || q.Exact != (wantR.Sign() == 0)) {
		t.Errorf("Divide(%d, %d) = %+v, want remainder %v", x, y, q, wantR)
	}
}

func checkInt(t *testing.T, op string, x, y int64, got calculator.Number, err error, want *big.Int) {
	t.Helper()
	if !want.IsInt64() {
		if d := errs.FromError(errs.ToStatus(err).Err()); d.Reason != "INT64_OVERFLOW" {
			t.Errorf("%s(%d, %d) = %v, %v; want INT64_OVERFLOW (the result is %v)", op, x, y, got, err, want)
		}
		return
	}
	if v, ok := got.Int64(); err != nil || !ok || v != want.Int64() {
		t.Errorf("%s(%d, %d) = %v, %v; want int %v", op, x, y, got, err, want)
	}
}

// checkClassified fails the test if err is not nil and not an *errs.Error,
// which would reach a client as a bare INTERNAL.
func checkClassified(t *testing.T, op string, err error) {
	t.Helper()
	var e *errs.Error
	if err != nil && (!errors.As(err, &e) || e.Kind == errs.Internal) {
		t.Errorf("%s returned the unclassified error %v", op, err)
	}
}

func fractionDigits(s string) int {
	_, frac, _ := strings.Cut(s, ".")
	return len(frac)
}
