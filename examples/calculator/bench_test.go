package calculator_test

import (
	"testing"

	"github.com/bazaarhq/bazaar/examples/calculator"
)

func BenchmarkAdd(b *testing.B) {
	x, _ := calculator.ParseDecimal("12345.6789")
	y, _ := calculator.ParseDecimal("-0.000000000000000000000000000001")
	cases := []struct {
		name string
		a, b calculator.Number
	}{
		{"int", calculator.Int(123456789), calculator.Int(987654321)},
		{"decimal", x, y},
		{"mixed", calculator.Int(123456789), x},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := calculator.Add(c.a, c.b); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDivide(b *testing.B) {
	one, _ := calculator.ParseDecimal("1")
	three, _ := calculator.ParseDecimal("3")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := calculator.Divide(one, three); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPrimeFactors(b *testing.B) {
	cases := []struct {
		name string
		n    int64
	}{
		{"semiprime_2x31bit", 2147483647 * 2147483629},
		{"prime_near_2^63", 9223372036854775783},
		{"square_of_prime_near_2^31.5", 3037000493 * 3037000493},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := calculator.PrimeFactors(b.Context(), c.n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
