package calculator

import (
	"errors"
	"io"

	"google.golang.org/grpc"

	calculatorv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/calculator/v1"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// RunningMax implements the bidirectional-streaming RunningMax RPC (module
// 4): every number read is answered at once with the largest seen so far
// and the count. It returns nil when the client closes its side (io.EOF).
//
// Recv does not watch stream.Context(), which ends when the client cancels
// or the grpcx server starts draining for shutdown; so the handler receives
// through grpcx.Receive and selects between messages and the context: an
// idle stream ends at once (a draining server's client sees UNAVAILABLE
// SERVER_DRAINING and reconnects) instead of holding the shutdown for its
// whole grace period.
func (*Calculator) RunningMax(stream grpc.BidiStreamingServer[calculatorv1.RunningMaxRequest, calculatorv1.RunningMaxResponse]) error {
	ctx := stream.Context()
	inbox := grpcx.Receive(ctx, stream.Recv)
	var running RunningMax
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case in := <-inbox:
			if errors.Is(in.Err, io.EOF) {
				return nil
			}
			if in.Err != nil {
				return in.Err
			}
			maximum, count := running.Observe(in.Msg.GetNumber())
			// One goroutine sending while another receives is allowed on a
			// gRPC stream; only concurrent Sends (or Recvs) are not.
			if err := stream.Send(&calculatorv1.RunningMaxResponse{Max: maximum, Count: count}); err != nil {
				return err
			}
		}
	}
}
