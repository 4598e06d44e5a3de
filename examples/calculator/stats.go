package calculator

import (
	"math/big"

	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// Mean accumulates numbers and returns their exact mean. It keeps only a
// running sum and a count, so its memory does not grow with the number of
// values (the sum gains a digit per tenfold more values, no more). The zero
// value is an empty Mean, ready to use. A Mean must not be copied after
// first use: its big.Int and big.Rat share memory with their copies.
type Mean struct {
	ints    big.Int // sum of the int values: exact, and cheaper than a Rat
	decs    big.Rat // sum of the decimal values
	scratch big.Int
	count   uint64
}

// Add includes x.
func (m *Mean) Add(x Number) {
	if v, ok := x.Int64(); ok {
		m.ints.Add(&m.ints, m.scratch.SetInt64(v))
	} else {
		m.decs.Add(&m.decs, x.dec)
	}
	m.count++
}

// Count returns how many numbers were added.
func (m *Mean) Count() uint64 { return m.count }

// Result returns the mean of the numbers added so far, always as a decimal,
// exact when it has at most RoundedPlaces places and otherwise rounded half
// to even to that many. With no numbers it returns an INVALID_ARGUMENT
// ReasonEmptyStream error with a BadRequest violation on field "number",
// the field the numbers arrive in: the mean of nothing is undefined.
func (m *Mean) Result() (Number, error) {
	if m.count == 0 {
		return Number{}, errs.BadRequest(ReasonEmptyStream,
			errs.FieldViolation{Field: "number", Description: "no numbers were sent; the average of none is undefined"})
	}
	sum := new(big.Rat).SetInt(&m.ints)
	sum.Add(sum, &m.decs)
	count := new(big.Rat).SetInt(new(big.Int).SetUint64(m.count))
	mean, _ := roundHalfEven(sum.Quo(sum, count), RoundedPlaces)
	// A mean lies between the smallest and largest value, so it cannot
	// overflow; newDecimal checks anyway rather than trust that reasoning.
	return newDecimal(mean)
}

// RunningMax tracks the largest of a sequence of int64 values. The zero
// value has seen nothing.
type RunningMax struct {
	max   int64
	count uint64
}

// Observe includes x and returns the largest value seen so far and how many
// values were seen.
func (r *RunningMax) Observe(x int64) (maximum int64, count uint64) {
	if r.count == 0 || x > r.max {
		r.max = x
	}
	r.count++
	return r.max, r.count
}
