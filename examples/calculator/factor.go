package calculator

import (
	"context"
	"fmt"
	"math/bits"
	"slices"

	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// trialLimit bounds trial division: every factor below it is found by
// dividing, which is fastest for the small factors most numbers have. What
// remains then has only factors of at least trialLimit, so if it is below
// trialLimit² it is prime.
const trialLimit = 1 << 12

// PrimeFactors returns the prime factors of n in ascending order, each
// repeated as often as it divides n, so that their product is n. n must be
// at least 2; a smaller n is an INVALID_ARGUMENT ReasonNotFactorable error
// with a BadRequest violation on field "number".
//
// Trial division alone would need up to 1.5 billion divisions for a prime
// or a semiprime near MaxInt64 (√2⁶³ ≈ 3·10⁹). So only factors below
// trialLimit are found by division; a larger cofactor is tested with
// deterministic Miller-Rabin and split with Pollard's rho (Brent's
// variant), which takes about √p steps to find a factor p: milliseconds for
// any int64. ctx is checked between steps; if it ends first, PrimeFactors
// returns ctx.Err().
func PrimeFactors(ctx context.Context, n int64) ([]int64, error) {
	if n < 2 {
		return nil, errs.BadRequest(ReasonNotFactorable,
			errs.FieldViolation{Field: "number", Description: fmt.Sprintf("%d has no prime factorization; send at least 2", n)})
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m := uint64(n)
	factors := make([]int64, 0, 8)
	for m%2 == 0 {
		factors = append(factors, 2)
		m /= 2
	}
	for p := uint64(3); p < trialLimit && p*p <= m; p += 2 {
		for m%p == 0 {
			factors = append(factors, int64(p))
			m /= p
		}
	}
	switch {
	case m == 1:
		return factors, nil
	case m < trialLimit*trialLimit:
		return append(factors, int64(m)), nil
	}
	large, err := splitLarge(ctx, m)
	if err != nil {
		return nil, err
	}
	// Every factor found by rho is at least trialLimit, so sorting them and
	// appending keeps the whole list ascending.
	slices.Sort(large)
	for _, f := range large {
		factors = append(factors, int64(f)) // f divides n, so f < 2⁶³
	}
	return factors, nil
}

// splitLarge returns the prime factors, unsorted, of m, which has no factor
// below trialLimit.
func splitLarge(ctx context.Context, m uint64) ([]uint64, error) {
	var primes []uint64
	pending := []uint64{m}
	for len(pending) > 0 {
		x := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		if isPrime(x) {
			primes = append(primes, x)
			continue
		}
		d, err := findDivisor(ctx, x)
		if err != nil {
			return nil, err
		}
		pending = append(pending, d, x/d)
	}
	return primes, nil
}

// findDivisor returns a divisor of the composite n strictly between 1 and n.
func findDivisor(ctx context.Context, n uint64) (uint64, error) {
	// A rho walk fails (finds n itself) when the walks modulo every prime
	// factor close their cycles together; another polynomial x² + c gives
	// an independent walk. For a composite n a few tries always suffice.
	for c := uint64(1); ; c++ {
		d, err := brent(ctx, n, c)
		if err != nil {
			return 0, err
		}
		if d != n {
			return d, nil
		}
	}
}

// brent runs Brent's variant of Pollard's rho on n with f(x) = x² + c mod n.
// It returns a non-trivial divisor of n, or n itself when this c fails.
//
// The walk x, f(x), f(f(x)), … modulo an unknown prime p | n enters a cycle
// after about √p steps; two walk values equal modulo p but not modulo n
// reveal p through gcd(|x - y|, n). Brent compares each value with one saved
// at powers of two, and multiplies the differences of a batch together so
// that one gcd serves the whole batch.
func brent(ctx context.Context, n, c uint64) (uint64, error) {
	const batch = 128
	f := func(x uint64) uint64 {
		// mulmod < n and c < n, so the sum cannot wrap: n < 2⁶³.
		return (mulmod(x, x, n) + c) % n
	}
	var x, ys uint64
	y, g, q := uint64(2), uint64(1), uint64(1)
	for r := uint64(1); g == 1; r *= 2 {
		x = y
		for i := range r {
			if i%(batch*64) == 0 {
				if err := ctx.Err(); err != nil {
					return 0, err
				}
			}
			y = f(y)
		}
		for k := uint64(0); k < r && g == 1; k += batch {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			ys = y
			for range min(batch, r-k) {
				y = f(y)
				q = mulmod(q, absDiff(x, y), n)
			}
			g = gcd(q, n)
		}
	}
	if g == n {
		// The batch's product swallowed the factor (or hit 0): redo the
		// batch one step at a time. Some step's own gcd exceeds 1.
		for {
			ys = f(ys)
			if g = gcd(absDiff(x, ys), n); g > 1 {
				break
			}
		}
	}
	return g, nil
}

// isPrime reports whether n is prime, exactly: Miller-Rabin with the first
// twelve primes as bases is deterministic for every n < 3.3·10²⁴, far beyond
// 2⁶⁴.
func isPrime(n uint64) bool {
	bases := [...]uint64{2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37}
	if n < 2 {
		return false
	}
	for _, p := range bases {
		if n%p == 0 {
			return n == p
		}
	}
	// n - 1 = d·2^s with d odd.
	s := bits.TrailingZeros64(n - 1)
	d := (n - 1) >> s
next:
	for _, a := range bases {
		x := powmod(a, d, n)
		if x == 1 || x == n-1 {
			continue
		}
		for range s - 1 {
			x = mulmod(x, x, n)
			if x == n-1 {
				continue next
			}
		}
		return false // a witnesses that n is composite
	}
	return true
}

// mulmod returns a·b mod m through the full 128-bit product, which cannot
// overflow, unlike a·b in 64 bits.
func mulmod(a, b, m uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return bits.Rem64(hi, lo, m)
}

// powmod returns bᵉ mod m by square-and-multiply.
func powmod(b, e, m uint64) uint64 {
	result := uint64(1)
	b %= m
	for ; e > 0; e >>= 1 {
		if e&1 == 1 {
			result = mulmod(result, b, m)
		}
		b = mulmod(b, b, m)
	}
	return result
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func absDiff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}
