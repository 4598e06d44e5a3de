package grpcserver

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	orderv1 "github.com/bazaarhq/bazaar/gen/bazaar/order/v1"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
)

// WatchOrder implements orderv1.OrderServiceServer. It sends the order's
// recorded transitions after after_sequence, then the new ones as they
// are committed, and ends with OK after the first one that leaves the
// order completed or cancelled (at once when the order already is and
// nothing after after_sequence is left). The transitions table is the
// stream's source, so a client that resumes with the last sequence it saw
// misses nothing and sees nothing twice. Changes made by this process wake
// the stream at once; changes made by another are seen within the poll
// interval (WithWatchPoll). The response headers are sent once the first
// read is done.
func (s *Server) WatchOrder(req *orderv1.WatchOrderRequest, stream grpc.ServerStreamingServer[orderv1.WatchOrderResponse]) error {
	ctx := stream.Context()
	caller := auth.PrincipalFrom(ctx)
	id, after := req.GetId(), req.GetAfterSequence()
	poll := time.NewTicker(s.poll)
	defer poll.Stop()
	headerSent := false
	for {
		// Wait for changes from before the read, so that none is missed.
		changed, done := s.svc.WaitChange(id)
		ts, o, err := s.svc.Transitions(ctx, caller, id, after)
		if err != nil {
			done()
			return err
		}
		if !headerSent {
			if err := stream.SendHeader(metadata.MD{}); err != nil {
				done()
				return err
			}
			headerSent = true
		}
		for i := range ts {
			t := &ts[i]
			if err := stream.Send(&orderv1.WatchOrderResponse{Transition: transitionProto(t)}); err != nil {
				done()
				return err
			}
			after = t.Sequence
			if t.Status.Terminal() {
				done()
				return nil
			}
		}
		if len(ts) == 0 && o.Status.Terminal() && o.Sequence <= after {
			done()
			return nil
		}
		select {
		case <-changed:
		case <-poll.C:
		case <-ctx.Done():
			done()
			return context.Cause(ctx)
		}
		done()
	}
}
