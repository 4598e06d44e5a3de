package order

import (
	"errors"
	"fmt"
	"math"
)

const nanosPerUnit = 1_000_000_000

// Money is an exact amount of a currency, as google.type.Money: Units whole
// units plus Nanos billionths, Nanos of the sign of Units. Never a float.
type Money struct {
	// Currency is the ISO 4217 code, such as "EUR".
	Currency string `json:"currency"`
	// Units is the whole part.
	Units int64 `json:"units"`
	// Nanos is the fractional part in billionths.
	Nanos int32 `json:"nanos"`
}

// errCurrencyMismatch is returned by arithmetic on amounts of different
// currencies.
var errCurrencyMismatch = errors.New("order: currency mismatch")

// errOverflow is returned by arithmetic whose result does not fit.
var errOverflow = errors.New("order: money overflow")

// IsZero reports whether m is no amount at all.
func (m Money) IsZero() bool { return m.Units == 0 && m.Nanos == 0 }

// valid reports whether m is a well-formed, non-negative amount.
func (m Money) valid() bool {
	return len(m.Currency) == 3 && m.Units >= 0 && m.Nanos >= 0 && m.Nanos < nanosPerUnit
}

// add returns m + o: both must be valid and non-negative.
func (m Money) add(o Money) (Money, error) {
	if m.Currency != o.Currency {
		return Money{}, fmt.Errorf("%w: %s and %s", errCurrencyMismatch, m.Currency, o.Currency)
	}
	nanos := int64(m.Nanos) + int64(o.Nanos)
	units := nanos / nanosPerUnit
	nanos %= nanosPerUnit
	if m.Units > math.MaxInt64-o.Units-units {
		return Money{}, errOverflow
	}
	return Money{Currency: m.Currency, Units: m.Units + o.Units + units, Nanos: int32(nanos)}, nil //nolint:gosec // < 1e9
}

// mul returns m * n for a valid non-negative m and n >= 0.
func (m Money) mul(n int64) (Money, error) {
	if n == 0 {
		return Money{Currency: m.Currency}, nil
	}
	if m.Units > math.MaxInt64/n {
		return Money{}, errOverflow
	}
	nanos := int64(m.Nanos) * n // < 1e9 * 1000 for quantities we allow; checked below
	if n > math.MaxInt64/nanosPerUnit {
		return Money{}, errOverflow
	}
	units := m.Units*n + nanos/nanosPerUnit
	if units < 0 {
		return Money{}, errOverflow
	}
	return Money{Currency: m.Currency, Units: units, Nanos: int32(nanos % nanosPerUnit)}, nil //nolint:gosec // < 1e9
}

// String formats m as "12.50 EUR", for messages.
func (m Money) String() string {
	frac := fmt.Sprintf("%09d", m.Nanos)
	cents := frac[:2]
	for i := len(frac); i > 2; i-- {
		if frac[i-1] != '0' {
			cents = frac[:i]
			break
		}
	}
	return fmt.Sprintf("%d.%s %s", m.Units, cents, m.Currency)
}
