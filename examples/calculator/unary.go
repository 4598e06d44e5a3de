package calculator

import (
	"context"

	calculatorv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/calculator/v1"
)

// The four unary RPCs (module 3): decode the operands, call the domain
// operation, encode the result. Domain errors are *errs.Error values that
// the grpcx server's error-mapping interceptor turns into statuses with
// google.rpc details; the handlers return them untouched.

// Add implements the Add RPC: a + b.
func (*Calculator) Add(_ context.Context, req *calculatorv1.AddRequest) (*calculatorv1.AddResponse, error) {
	a, b, err := operands(req.GetA(), req.GetB())
	if err != nil {
		return nil, err
	}
	sum, err := Add(a, b)
	if err != nil {
		return nil, err
	}
	return &calculatorv1.AddResponse{Result: numberToProto(sum)}, nil
}

// Subtract implements the Subtract RPC: a - b.
func (*Calculator) Subtract(_ context.Context, req *calculatorv1.SubtractRequest) (*calculatorv1.SubtractResponse, error) {
	a, b, err := operands(req.GetA(), req.GetB())
	if err != nil {
		return nil, err
	}
	diff, err := Subtract(a, b)
	if err != nil {
		return nil, err
	}
	return &calculatorv1.SubtractResponse{Result: numberToProto(diff)}, nil
}

// Multiply implements the Multiply RPC: a × b.
func (*Calculator) Multiply(_ context.Context, req *calculatorv1.MultiplyRequest) (*calculatorv1.MultiplyResponse, error) {
	a, b, err := operands(req.GetA(), req.GetB())
	if err != nil {
		return nil, err
	}
	product, err := Multiply(a, b)
	if err != nil {
		return nil, err
	}
	return &calculatorv1.MultiplyResponse{Result: numberToProto(product)}, nil
}

// Divide implements the Divide RPC: a ÷ b, with the remainder for two ints.
// A zero divisor is INVALID_ARGUMENT with a BadRequest violation on "b".
func (*Calculator) Divide(_ context.Context, req *calculatorv1.DivideRequest) (*calculatorv1.DivideResponse, error) {
	a, b, err := operands(req.GetA(), req.GetB())
	if err != nil {
		return nil, err
	}
	q, err := Divide(a, b)
	if err != nil {
		return nil, err
	}
	resp := &calculatorv1.DivideResponse{Quotient: numberToProto(q.Value), Exact: q.Exact}
	if q.HasRemainder {
		resp.Remainder = &q.Remainder
	}
	return resp, nil
}
