package payment_test

import (
	"testing"

	"github.com/bazaarhq/bazaar/internal/payment"
)

func TestMoneyOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		currency string
		units    int64
		nanos    int32
		want     int64
		ok       bool
		str      string
	}{
		{"EUR", 12, 500_000_000, 12_500_000_000, true, "EUR 12.50"},
		{"JPY", 1000, 0, 1000 * payment.NanosPerUnit, true, "JPY 1000.00"},
		{"EUR", 0, 1, 1, true, "EUR 0.000000001"},
		{"EUR", payment.MaxUnits, 999_999_999, payment.MaxUnits*payment.NanosPerUnit + 999_999_999, true, ""},
		{"EUR", payment.MaxUnits + 1, 0, 0, false, ""},
		{"EUR", -1, 0, 0, false, ""},
		{"EUR", 0, -1, 0, false, ""},
		{"EUR", 0, 1_000_000_000, 0, false, ""},
		{"eur", 1, 0, 0, false, ""},
		{"", 1, 0, 0, false, ""},
	} {
		m, err := payment.MoneyOf(tc.currency, tc.units, tc.nanos)
		if (err == nil) != tc.ok || (tc.ok && m.Nanos != tc.want) {
			t.Errorf("MoneyOf(%q, %d, %d) = %v, %v, want %d ok=%v", tc.currency, tc.units, tc.nanos, m, err, tc.want, tc.ok)
			continue
		}
		if !tc.ok {
			continue
		}
		if u, n := m.Split(); u != tc.units || n != tc.nanos {
			t.Errorf("MoneyOf(%q, %d, %d).Split() = %d, %d", tc.currency, tc.units, tc.nanos, u, n)
		}
		if tc.str != "" && m.String() != tc.str {
			t.Errorf("String() = %q, want %q", m.String(), tc.str)
		}
	}
}
