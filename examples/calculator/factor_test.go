package calculator_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/bazaarhq/bazaar/examples/calculator"
)

func TestPrimeFactorsDomain(t *testing.T) {
	t.Parallel()
	tests := []int64{
		2, 3, 4, 97, 4093, // below the trial-division bound
		4099,                        // the first prime above it
		4093 * 4099,                 // one factor each side of it
		4099 * 4099,                 // above its square: rho must split it
		4099 * 4111 * 4127,          // three factors for rho
		1048573 * 1048571 * 1048559, // three ~20-bit primes
		2147483647 * 2147483629,     // two ~31-bit primes
		3037000493 * 3037000493,     // the square of the largest prime below √2⁶³
		9223372036854775783,         // the largest prime below 2⁶³
		math.MaxInt64,               // 7² × 73 × 127 × 337 × 92737 × 649657
		1 << 62,                     // 62 twos
		2 * 3 * 5 * 7 * 11 * 13 * 17 * 19 * 23 * 29 * 31 * 37 * 41 * 43 * 47, // many small primes
	}
	// Random numbers of every size, from a fixed seed so failures replay.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		tests = append(tests, 2+rng.Int64N(math.MaxInt64-1)>>rng.IntN(62))
	}
	for _, n := range tests {
		got, err := calculator.PrimeFactors(t.Context(), n)
		call := fmt.Sprintf("PrimeFactors(%d)", n)
		if err != nil {
			t.Errorf("%s = %v", call, err)
			continue
		}
		checkFactorization(t, call, n, got)
	}
}

func TestPrimeFactorsErrors(t *testing.T) {
	t.Parallel()
	for _, n := range []int64{1, 0, -2, math.MinInt64} {
		got, err := calculator.PrimeFactors(t.Context(), n)
		d := details(err)
		if err == nil || d.Code != codes.InvalidArgument || d.Reason != "NOT_FACTORABLE" || len(d.FieldViolations) != 1 || d.FieldViolations[0].Field != "number" {
			t.Errorf("PrimeFactors(%d) = %v, %v; want NOT_FACTORABLE with a violation on number", n, got, err)
		}
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, n := range []int64{12, 2147483647 * 2147483629} {
		if got, err := calculator.PrimeFactors(ctx, n); !errors.Is(err, context.Canceled) {
			t.Errorf("PrimeFactors(cancelled ctx, %d) = %v, %v; want context.Canceled", n, got, err)
		}
	}
}
