package calculator

import (
	calculatorv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/calculator/v1"
)

// DefaultMaxAverageCount is how many numbers one Average stream may send by
// default.
const DefaultMaxAverageCount = 1_000_000

// Calculator implements calculatorv1.CalculatorServiceServer. Its handlers
// only translate between protobuf and the domain (Number, Add, Mean,
// PrimeFactors, …); it keeps no state between calls, so one value serves
// every connection.
type Calculator struct {
	// Embedded by value, as protoc-gen-go-grpc asks: methods added to the
	// service later answer UNIMPLEMENTED instead of breaking the build.
	calculatorv1.UnimplementedCalculatorServiceServer

	maxAverageCount uint64
}

// The compiler checks here that Calculator implements the service.
var _ calculatorv1.CalculatorServiceServer = (*Calculator)(nil)

// NewCalculator returns a Calculator ready to register.
func NewCalculator(opts ...Option) *Calculator {
	c := &Calculator{maxAverageCount: DefaultMaxAverageCount}
	for _, o := range opts {
		o.apply(c)
	}
	return c
}

// Option configures NewCalculator.
type Option interface{ apply(*Calculator) }

type optionFunc func(*Calculator)

func (f optionFunc) apply(c *Calculator) { f(c) }

// WithMaxAverageCount caps how many numbers one Average stream may send;
// the next one is refused with RESOURCE_EXHAUSTED ReasonTooManyNumbers.
// Average keeps a running sum, so the cap bounds the CPU time one stream
// can take rather than memory. Default DefaultMaxAverageCount; 0 means the
// default.
func WithMaxAverageCount(n uint64) Option {
	return optionFunc(func(c *Calculator) {
		if n == 0 {
			n = DefaultMaxAverageCount
		}
		c.maxAverageCount = n
	})
}
