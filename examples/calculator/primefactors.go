package calculator

import (
	"google.golang.org/grpc"

	calculatorv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/calculator/v1"
)

// PrimeFactors implements the server-streaming PrimeFactors RPC (module 4):
// it factors the number (milliseconds even for the hardest int64, see the
// function PrimeFactors) and sends one message per prime factor, in
// ascending order, repeated factors once per multiplicity.
//
// The factoring stops when the stream's context ends, and Send fails then
// too, so a client that cancels does not keep the server busy.
func (*Calculator) PrimeFactors(req *calculatorv1.PrimeFactorsRequest, stream grpc.ServerStreamingServer[calculatorv1.PrimeFactorsResponse]) error {
	factors, err := PrimeFactors(stream.Context(), req.GetNumber())
	if err != nil {
		return err
	}
	for _, f := range factors {
		if err := stream.Send(&calculatorv1.PrimeFactorsResponse{Factor: f}); err != nil {
			return err
		}
	}
	return nil
}
