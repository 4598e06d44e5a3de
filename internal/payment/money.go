package payment

import (
	"fmt"
	"regexp"
)

// NanosPerUnit is the number of billionths in a currency unit.
const NanosPerUnit = 1_000_000_000

// MaxUnits is the largest amount, in whole units, that one payment may
// have: every amount of a payment (and every sum of them the service
// computes) then fits an int64 of billionths.
const MaxUnits = 1_000_000_000

// Money is an exact, non-negative amount of a currency in billionths of a
// unit (as google.type.Money's units and nanos, folded into one integer so
// that sums and comparisons are plain integer arithmetic). Amounts are
// never floats.
type Money struct {
	// Currency is the ISO 4217 code, such as "EUR".
	Currency string `json:"currency"`
	// Nanos is the amount in billionths of a unit: 12.50 EUR is
	// 12_500_000_000.
	Nanos int64 `json:"nanos"`
}

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// MoneyOf returns the amount of units and nanos (as google.type.Money), or
// an error if it is negative, out of range or has no valid currency.
func MoneyOf(currency string, units int64, nanos int32) (Money, error) {
	switch {
	case !currencyPattern.MatchString(currency):
		return Money{}, fmt.Errorf("currency %q is not an ISO 4217 code", currency)
	case units < 0 || nanos < 0:
		return Money{}, fmt.Errorf("amount is negative")
	case units > MaxUnits:
		return Money{}, fmt.Errorf("amount exceeds %d units", MaxUnits)
	case nanos >= NanosPerUnit:
		return Money{}, fmt.Errorf("nanos %d out of range", nanos)
	}
	return Money{Currency: currency, Nanos: units*NanosPerUnit + int64(nanos)}, nil
}

// Split returns m as google.type.Money's units and nanos.
func (m Money) Split() (units int64, nanos int32) {
	return m.Nanos / NanosPerUnit, int32(m.Nanos % NanosPerUnit)
}

// IsZero reports whether the amount is zero.
func (m Money) IsZero() bool { return m.Nanos == 0 }

// String formats m as "EUR 12.50".
func (m Money) String() string {
	u, n := m.Split()
	frac := fmt.Sprintf("%09d", n)
	for len(frac) > 2 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	return fmt.Sprintf("%s %d.%s", m.Currency, u, frac)
}
