package calculator

import (
	"fmt"
	"math"
	"math/big"

	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// The four operations follow one rule for types: two ints give an int, and
// a result outside int64 is an OUT_OF_RANGE ReasonInt64Overflow error rather
// than a silently wrapped value; any decimal operand makes the operation
// exact decimal arithmetic (the int is promoted), whose result is a decimal
// limited to MaxIntegerDigits digits before the point (else OUT_OF_RANGE
// ReasonDecimalOverflow).

// Add returns a + b.
func Add(a, b Number) (Number, error) {
	if x, y, ok := ints(a, b); ok {
		s := x + y
		// Overflow happened iff both operands have the sign s lacks.
		if (x^s)&(y^s) < 0 {
			return Number{}, int64Overflow(x, "+", y)
		}
		return Int(s), nil
	}
	return newDecimal(new(big.Rat).Add(a.rat(), b.rat()))
}

// Subtract returns a - b.
func Subtract(a, b Number) (Number, error) {
	if x, y, ok := ints(a, b); ok {
		d := x - y
		// Overflow happened iff the operands' signs differ and d's sign
		// differs from x's.
		if (x^y)&(x^d) < 0 {
			return Number{}, int64Overflow(x, "-", y)
		}
		return Int(d), nil
	}
	return newDecimal(new(big.Rat).Sub(a.rat(), b.rat()))
}

// Multiply returns a * b. A decimal product is exact: it may have as many
// digits after the point as both operands together.
func Multiply(a, b Number) (Number, error) {
	if x, y, ok := ints(a, b); ok {
		p := x * y
		// Dividing back detects a wrapped product, except for
		// -1 × MinInt64, whose wrapped product divides back "correctly".
		if x != 0 && (p/x != y || (x == -1 && y == math.MinInt64)) {
			return Number{}, int64Overflow(x, "×", y)
		}
		return Int(p), nil
	}
	return newDecimal(new(big.Rat).Mul(a.rat(), b.rat()))
}

// Quotient is the result of Divide.
type Quotient struct {
	// Value is a / b: truncated toward zero for two ints, otherwise the
	// exact decimal quotient, or that quotient rounded half to even to
	// RoundedPlaces places when it is longer or does not terminate.
	Value Number
	// Remainder is a - b×Value; set only when HasRemainder.
	Remainder int64
	// HasRemainder reports an int ÷ int division, which is the only kind
	// with a remainder.
	HasRemainder bool
	// Exact reports whether Value is exactly a / b: false when the decimal
	// quotient was rounded, or when an int division left a remainder.
	Exact bool
}

// Divide returns a / b. Two ints divide like Go's / and %: the quotient is
// truncated toward zero and the remainder has the dividend's sign. A
// decimal operand gives a decimal quotient, rounded half to even to
// RoundedPlaces places when it does not fit.
//
// A zero divisor, int 0 or any decimal zero such as "0.000", is an
// INVALID_ARGUMENT ReasonDivisionByZero error carrying a google.rpc
// BadRequest violation on field "b", the divisor's name in the API. The
// one int quotient that does not fit, MinInt64 / -1, is OUT_OF_RANGE
// ReasonInt64Overflow.
func Divide(a, b Number) (Quotient, error) {
	if b.IsZero() {
		return Quotient{}, errs.BadRequest(ReasonDivisionByZero,
			errs.FieldViolation{Field: "b", Description: "the divisor must not be zero"})
	}
	if x, y, ok := ints(a, b); ok {
		if x == math.MinInt64 && y == -1 {
			return Quotient{}, int64Overflow(x, "÷", y)
		}
		q, r := x/y, x%y
		return Quotient{Value: Int(q), Remainder: r, HasRemainder: true, Exact: r == 0}, nil
	}
	rounded, exact := roundHalfEven(new(big.Rat).Quo(a.rat(), b.rat()), RoundedPlaces)
	v, err := newDecimal(rounded)
	if err != nil {
		return Quotient{}, err
	}
	return Quotient{Value: v, Exact: exact}, nil
}

// ints returns the values of a and b if both are ints.
func ints(a, b Number) (x, y int64, ok bool) {
	x, aok := a.Int64()
	y, bok := b.Int64()
	return x, y, aok && bok
}

func int64Overflow(x int64, op string, y int64) error {
	return errs.New(errs.OutOfRange, ReasonInt64Overflow,
		fmt.Sprintf("%d %s %d does not fit in int64; send an operand as a decimal for the exact result", x, op, y))
}
