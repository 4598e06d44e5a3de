package calculator

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// Limits of decimals. They keep every operation's cost bounded whatever a
// client sends, and they match what SQL databases call DECIMAL(38).
const (
	// MaxIntegerDigits is the most digits a decimal, operand or result, may
	// have before the point; more is OUT_OF_RANGE DECIMAL_OVERFLOW.
	MaxIntegerDigits = 38
	// MaxFractionDigits is the most digits after the point ParseDecimal
	// accepts: twice the API's 30, so that any product of two API operands
	// parses back.
	MaxFractionDigits = 60
	// RoundedPlaces is where a quotient or a mean whose decimal expansion is
	// longer (or does not terminate, like 1/3) is rounded, half to even.
	RoundedPlaces = 30
)

// Number is an operand or a result of the calculator: an int64 or an exact
// decimal. The zero value is the integer 0.
//
// Numbers are immutable values: operations return new Numbers. A decimal is
// held as a big.Rat that always has a terminating decimal expansion, so
// String prints it exactly, in plain notation.
type Number struct {
	dec *big.Rat // nil for an int; never modified once the Number is built
	i   int64
}

// Int returns the integer v as a Number.
func Int(v int64) Number { return Number{i: v} }

// ParseDecimal reads a decimal in plain notation: an optional minus sign,
// digits, and optionally a point followed by digits ("-12.50", "007", "0.5").
// Exponents, a leading plus, a bare point (".5", "5."), spaces and special
// values are refused with INVALID_ARGUMENT ReasonInvalidDecimal, as is a
// fraction longer than MaxFractionDigits; more than MaxIntegerDigits
// significant digits before the point is OUT_OF_RANGE ReasonDecimalOverflow.
// The result is a decimal even when it has no fraction ("3" or "3.0").
func ParseDecimal(s string) (Number, error) {
	body := strings.TrimPrefix(s, "-")
	intPart, frac, hasPoint := strings.Cut(body, ".")
	if !allDigits(intPart) || (hasPoint && !allDigits(frac)) {
		return Number{}, errs.New(errs.InvalidArgument, ReasonInvalidDecimal,
			quoteShort(s)+" is not a decimal in plain notation like -12.50")
	}
	if len(frac) > MaxFractionDigits {
		return Number{}, errs.New(errs.InvalidArgument, ReasonInvalidDecimal,
			fmt.Sprintf("%s has %d digits after the point; at most %d are accepted", quoteShort(s), len(frac), MaxFractionDigits))
	}
	if significant := strings.TrimLeft(intPart, "0"); len(significant) > MaxIntegerDigits {
		return Number{}, decimalOverflow()
	}
	// Build the fraction from the digits ourselves rather than with
	// big.Rat.SetString, which also accepts exponents, "a/b" and base
	// prefixes; the syntax is exactly what was checked above.
	num, ok := new(big.Int).SetString(intPart+frac, 10)
	if !ok { // unreachable: only digits remain
		return Number{}, errs.New(errs.InvalidArgument, ReasonInvalidDecimal, quoteShort(s)+" is not a decimal")
	}
	if strings.HasPrefix(s, "-") {
		num.Neg(num)
	}
	return Number{dec: new(big.Rat).SetFrac(num, pow10(len(frac)))}, nil
}

// IsDecimal reports whether n is a decimal rather than an int64.
func (n Number) IsDecimal() bool { return n.dec != nil }

// Int64 returns n's value and true if n is an int64, or 0 and false if it
// is a decimal (even one without a fraction).
func (n Number) Int64() (int64, bool) {
	if n.dec != nil {
		return 0, false
	}
	return n.i, true
}

// IsZero reports whether n equals zero: int 0 or any decimal zero ("0.000").
func (n Number) IsZero() bool {
	if n.dec != nil {
		return n.dec.Sign() == 0
	}
	return n.i == 0
}

// String formats n: an int in base 10, a decimal exactly in plain notation
// with no trailing zeros after the point ("2.5", "-0.125", "3").
func (n Number) String() string {
	if n.dec == nil {
		return strconv.FormatInt(n.i, 10)
	}
	places, ok := terminatingPlaces(n.dec.Denom())
	if !ok { // unreachable: every constructor keeps decimals terminating
		r, _ := roundHalfEven(n.dec, RoundedPlaces)
		return Number{dec: r}.String()
	}
	scaled := new(big.Int).Mul(n.dec.Num(), pow10(places))
	scaled.Quo(scaled, n.dec.Denom()) // exact: 10^places is a multiple of the denominator
	return formatScaled(scaled, places)
}

// rat returns n as a big.Rat. For a decimal it is n's own value, shared:
// callers must treat it as read-only.
func (n Number) rat() *big.Rat {
	if n.dec != nil {
		return n.dec
	}
	return new(big.Rat).SetInt64(n.i)
}

// newDecimal wraps r, which must terminate, as a decimal Number, refusing
// one with more than MaxIntegerDigits digits before the point.
func newDecimal(r *big.Rat) (Number, error) {
	// Fast path: |r| < 2^(bits(num) - bits(den) + 1), and 2¹²⁶ < 10³⁸, so
	// most values need no exact comparison (nor its allocations).
	if r.Num().BitLen()-r.Denom().BitLen()+1 > maxIntegerBits {
		limit := new(big.Int).Mul(pow10(MaxIntegerDigits), r.Denom())
		if new(big.Int).Abs(r.Num()).Cmp(limit) >= 0 {
			return Number{}, decimalOverflow()
		}
	}
	return Number{dec: r}, nil
}

// maxIntegerBits is the largest k with 2^k < 10^MaxIntegerDigits.
const maxIntegerBits = 126

func decimalOverflow() error {
	return errs.New(errs.OutOfRange, ReasonDecimalOverflow,
		fmt.Sprintf("the decimal has more than %d digits before the point", MaxIntegerDigits))
}

// roundHalfEven returns r rounded to places decimal places, ties to the
// even neighbour (banker's rounding, which does not bias sums of many
// rounded values), and whether r already fitted, so nothing was lost.
func roundHalfEven(r *big.Rat, places int) (*big.Rat, bool) {
	scale := pow10(places)
	num := new(big.Int).Mul(r.Num(), scale)
	q, rem := new(big.Int).QuoRem(num, r.Denom(), new(big.Int)) // truncates toward zero
	if rem.Sign() == 0 {
		return new(big.Rat).SetFrac(q, scale), true
	}
	twice := rem.Abs(rem)
	twice.Lsh(twice, 1)
	// Bit(0) is the parity of |q| for negative q as well (two's complement).
	if c := twice.Cmp(r.Denom()); c > 0 || (c == 0 && q.Bit(0) == 1) {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return new(big.Rat).SetFrac(q, scale), false
}

// terminatingPlaces returns the number of decimal places the fraction x/den
// (in lowest terms) needs, and false if its expansion never terminates,
// which is when den has a prime factor other than 2 and 5.
func terminatingPlaces(den *big.Int) (int, bool) {
	twos := den.TrailingZeroBits()
	d := new(big.Int).Rsh(den, twos)
	five, q, m := big.NewInt(5), new(big.Int), new(big.Int)
	fives := 0
	for d.BitLen() > 1 { // d > 1
		q.QuoRem(d, five, m)
		if m.Sign() != 0 {
			return 0, false
		}
		d, q = q, d
		fives++
	}
	return max(int(twos), fives), true
}

// formatScaled prints v / 10^places in plain notation.
func formatScaled(v *big.Int, places int) string {
	digits := new(big.Int).Abs(v).String()
	if places > 0 {
		if len(digits) <= places {
			digits = strings.Repeat("0", places-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-places] + "." + digits[len(digits)-places:]
	}
	if v.Sign() < 0 {
		return "-" + digits
	}
	return digits
}

func pow10(n int) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// quoteShort quotes s for an error message, cut short so that a client
// cannot make the server echo megabytes back.
func quoteShort(s string) string {
	const limit = 40
	if len(s) > limit {
		return fmt.Sprintf("%q…", s[:limit])
	}
	return fmt.Sprintf("%q", s)
}
