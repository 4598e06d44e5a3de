package calculator_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/bazaarhq/bazaar/examples/calculator"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

func ExampleAdd() {
	a, _ := calculator.ParseDecimal("0.1")
	b, _ := calculator.ParseDecimal("0.2")
	sum, _ := calculator.Add(a, b)
	fmt.Println(sum) // exact, unlike float64's 0.30000000000000004

	// An int and a decimal: the int is promoted, the result is a decimal.
	mixed, _ := calculator.Add(calculator.Int(1), b)
	fmt.Println(mixed, mixed.IsDecimal())
	// Output:
	// 0.3
	// 1.2 true
}

func ExampleMultiply() {
	_, err := calculator.Multiply(calculator.Int(1<<62), calculator.Int(2))
	var e *errs.Error
	if errors.As(err, &e) {
		fmt.Println(e.Kind, e.Reason)
	}

	// The same product with a decimal operand is exact.
	two, _ := calculator.ParseDecimal("2")
	product, _ := calculator.Multiply(calculator.Int(1<<62), two)
	fmt.Println(product)
	// Output:
	// OutOfRange INT64_OVERFLOW
	// 9223372036854775808
}

func ExampleDivide() {
	// Two ints: truncated toward zero, with the remainder.
	q, _ := calculator.Divide(calculator.Int(-7), calculator.Int(2))
	fmt.Println(q.Value, q.Remainder, q.Exact)

	// A decimal operand: a decimal quotient, exact when it terminates…
	eight, _ := calculator.ParseDecimal("8")
	q, _ = calculator.Divide(calculator.Int(1), eight)
	fmt.Println(q.Value, q.Exact)

	// …and rounded half to even to 30 places when it does not.
	three, _ := calculator.ParseDecimal("3.0")
	q, _ = calculator.Divide(calculator.Int(2), three)
	fmt.Println(q.Value, q.Exact)

	// Dividing by any zero is INVALID_ARGUMENT, with a BadRequest field
	// violation on the divisor, "b".
	zero, _ := calculator.ParseDecimal("0.000")
	_, err := calculator.Divide(calculator.Int(1), zero)
	d := errs.FromError(errs.ToStatus(err).Err())
	fmt.Println(d.Code, d.Reason, d.FieldViolations[0].Field)
	// Output:
	// -3 -1 false
	// 0.125 true
	// 0.666666666666666666666666666667 false
	// InvalidArgument DIVISION_BY_ZERO b
}

func ExampleParseDecimal() {
	n, err := calculator.ParseDecimal("-012.50")
	fmt.Println(n, err)

	_, err = calculator.ParseDecimal("1e5")
	fmt.Println(err)
	// Output:
	// -12.5 <nil>
	// INVALID_DECIMAL: "1e5" is not a decimal in plain notation like -12.50
}

func ExampleMean() {
	var m calculator.Mean
	for _, v := range []int64{1, 2, 2} {
		m.Add(calculator.Int(v))
	}
	avg, _ := m.Result()
	fmt.Println(avg, m.Count())
	// Output:
	// 1.666666666666666666666666666667 3
}

func ExamplePrimeFactors() {
	factors, _ := calculator.PrimeFactors(context.Background(), 2147483647*2147483629)
	fmt.Println(factors)
	// Output:
	// [2147483629 2147483647]
}
