package calculator

import (
	"errors"

	calculatorv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/calculator/v1"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// numberFromProto converts the protobuf number found at field (a request
// field path, for error details) into a Number.
//
// The server's validation interceptor has already refused malformed
// numbers, so the errors here are a second line of defence for a
// Calculator registered on a server without one; they carry the same
// BadRequest field violation that validation would.
func numberFromProto(field string, n *calculatorv1.Number) (Number, error) {
	switch v := n.GetValue().(type) {
	case *calculatorv1.Number_Int:
		return Int(v.Int), nil
	case *calculatorv1.Number_Decimal:
		x, err := ParseDecimal(v.Decimal)
		if err != nil {
			var e *errs.Error
			if !errors.As(err, &e) {
				return Number{}, err
			}
			path := field + ".decimal"
			return Number{}, errs.New(e.Kind, e.Reason, path+": "+e.Message, errs.WithFieldViolation(path, e.Message))
		}
		return x, nil
	default:
		return Number{}, errs.BadRequest("INVALID_REQUEST", errs.FieldViolation{Field: field, Description: "value is required"})
	}
}

// operands converts a request's a and b.
func operands(a, b *calculatorv1.Number) (Number, Number, error) {
	x, err := numberFromProto("a", a)
	if err != nil {
		return Number{}, Number{}, err
	}
	y, err := numberFromProto("b", b)
	if err != nil {
		return Number{}, Number{}, err
	}
	return x, y, nil
}

// numberToProto converts a Number into its protobuf form.
func numberToProto(n Number) *calculatorv1.Number {
	if v, ok := n.Int64(); ok {
		return &calculatorv1.Number{Value: &calculatorv1.Number_Int{Int: v}}
	}
	return &calculatorv1.Number{Value: &calculatorv1.Number_Decimal{Decimal: n.String()}}
}
