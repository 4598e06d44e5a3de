package catalog

import (
	"errors"
	"fmt"
	"math"
	"regexp"
)

const nanosPerUnit = 1_000_000_000

// Money is an exact amount of a currency, as google.type.Money: Units whole
// units plus Nanos billionths. Nanos is within ±999,999,999 and has the sign
// of Units when Units is not zero. Amounts are never floats.
type Money struct {
	// Currency is the ISO 4217 code, such as "EUR".
	Currency string
	// Units is the whole part.
	Units int64
	// Nanos is the fractional part in billionths.
	Nanos int32
}

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// ErrCurrencyMismatch is returned by arithmetic on amounts of different
// currencies.
var ErrCurrencyMismatch = errors.New("catalog: currency mismatch")

// ErrOverflow is returned by arithmetic whose result does not fit.
var ErrOverflow = errors.New("catalog: money overflow")

// Validate reports whether m is well formed: a three-letter upper-case
// currency code, nanos in range and of the sign of units.
func (m Money) Validate() error {
	switch {
	case !currencyPattern.MatchString(m.Currency):
		return fmt.Errorf("currency %q is not an ISO 4217 code", m.Currency)
	case m.Nanos <= -nanosPerUnit || m.Nanos >= nanosPerUnit:
		return fmt.Errorf("nanos %d out of range", m.Nanos)
	case m.Units > 0 && m.Nanos < 0, m.Units < 0 && m.Nanos > 0:
		return errors.New("units and nanos have different signs")
	}
	return nil
}

// IsNegative reports whether m is below zero.
func (m Money) IsNegative() bool { return m.Units < 0 || m.Nanos < 0 }

// Cmp compares a and b: -1 if a < b, 0 if equal, +1 if a > b. It returns
// ErrCurrencyMismatch for different currencies. Both must be valid.
func (m Money) Cmp(o Money) (int, error) {
	if m.Currency != o.Currency {
		return 0, fmt.Errorf("%w: %s and %s", ErrCurrencyMismatch, m.Currency, o.Currency)
	}
	return cmpAmount(m, o), nil
}

// cmpAmount compares the amounts of valid values, ignoring the currency.
// Because nanos carries the sign of units, (units, nanos) order is amount
// order.
func cmpAmount(a, b Money) int {
	switch {
	case a.Units < b.Units:
		return -1
	case a.Units > b.Units:
		return 1
	case a.Nanos < b.Nanos:
		return -1
	case a.Nanos > b.Nanos:
		return 1
	}
	return 0
}

// Add returns m + o exactly, ErrCurrencyMismatch, or ErrOverflow.
func (m Money) Add(o Money) (Money, error) {
	if m.Currency != o.Currency {
		return Money{}, fmt.Errorf("%w: %s and %s", ErrCurrencyMismatch, m.Currency, o.Currency)
	}
	units, nanos := m.Units, int64(m.Nanos)+int64(o.Nanos)
	if (o.Units > 0 && units > math.MaxInt64-o.Units) || (o.Units < 0 && units < math.MinInt64-o.Units) {
		return Money{}, ErrOverflow
	}
	units += o.Units
	// Carry so that |nanos| < 1e9, then make nanos take the sign of units.
	units, nanos, ok := normalize(units, nanos)
	if !ok {
		return Money{}, ErrOverflow
	}
	return Money{Currency: m.Currency, Units: units, Nanos: int32(nanos)}, nil
}

// Mul returns m × n exactly, or ErrOverflow.
func (m Money) Mul(n int64) (Money, error) {
	if n == 0 || (m.Units == 0 && m.Nanos == 0) {
		return Money{Currency: m.Currency}, nil
	}
	units := m.Units * n
	if units/n != m.Units || (n == -1 && m.Units == math.MinInt64) {
		return Money{}, ErrOverflow
	}
	// |Nanos| < 1e9, so Nanos*n overflows only for |n| > ~9.2e9.
	nanos := int64(m.Nanos) * n
	if nanos/n != int64(m.Nanos) {
		return Money{}, ErrOverflow
	}
	carry := nanos / nanosPerUnit
	if (carry > 0 && units > math.MaxInt64-carry) || (carry < 0 && units < math.MinInt64-carry) {
		return Money{}, ErrOverflow
	}
	units, rest, ok := normalize(units+carry, nanos%nanosPerUnit)
	if !ok {
		return Money{}, ErrOverflow
	}
	return Money{Currency: m.Currency, Units: units, Nanos: int32(rest)}, nil
}

// normalize carries nanos (|nanos| < 2e9) into units and gives nanos the
// sign of units.
func normalize(units, nanos int64) (int64, int64, bool) {
	if nanos >= nanosPerUnit || nanos <= -nanosPerUnit {
		c := nanos / nanosPerUnit
		if (c > 0 && units == math.MaxInt64) || (c < 0 && units == math.MinInt64) {
			return 0, 0, false
		}
		units, nanos = units+c, nanos-c*nanosPerUnit
	}
	switch {
	case units > 0 && nanos < 0:
		units, nanos = units-1, nanos+nanosPerUnit
	case units < 0 && nanos > 0:
		units, nanos = units+1, nanos-nanosPerUnit
	}
	return units, nanos, true
}

// String formats m as "EUR 12.500000000" trimmed to at least two decimals:
// "EUR 12.50".
func (m Money) String() string {
	sign := ""
	u, n := m.Units, int64(m.Nanos)
	if m.IsNegative() {
		sign, u, n = "-", -u, -n
	}
	frac := fmt.Sprintf("%09d", n)
	for len(frac) > 2 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	return fmt.Sprintf("%s %s%d.%s", m.Currency, sign, uint64(u), frac)
}
