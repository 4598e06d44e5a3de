package calculator

import (
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"

	calculatorv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/calculator/v1"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// Average implements the client-streaming Average RPC (module 4): it reads
// numbers until the client closes its side (io.EOF), then answers once with
// their mean.
//
// It keeps a running exact sum (Mean), never the numbers, so memory stays
// flat however long the stream; the stream's length is still capped (see
// WithMaxAverageCount) because each number costs CPU. An empty stream is
// INVALID_ARGUMENT ReasonEmptyStream. A malformed number mid-stream is
// refused by the server's validation interceptor inside Recv, and that
// error ends the call.
func (c *Calculator) Average(stream grpc.ClientStreamingServer[calculatorv1.AverageRequest, calculatorv1.AverageResponse]) error {
	var mean Mean
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err // the client went away, or the message was invalid
		}
		if mean.Count() >= c.maxAverageCount {
			limit := fmt.Sprintf("at most %d numbers per Average stream", c.maxAverageCount)
			return errs.New(errs.ResourceExhausted, ReasonTooManyNumbers, "too many numbers: "+limit,
				errs.WithQuotaViolation("numbers per Average stream", limit))
		}
		x, err := numberFromProto("number", req.GetNumber())
		if err != nil {
			return err
		}
		mean.Add(x)
	}
	avg, err := mean.Result()
	if err != nil {
		return err
	}
	return stream.SendAndClose(&calculatorv1.AverageResponse{Average: numberToProto(avg), Count: mean.Count()})
}
