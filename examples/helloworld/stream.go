package helloworld

import (
	"time"

	"google.golang.org/grpc"

	helloworldv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
)

// SayHelloStream sends req.Count greetings, numbered from 1, pausing
// req.IntervalMs milliseconds between two of them (server-streaming RPC).
//
// It returns as soon as the stream's context ends: when the client cancels
// or disconnects (the error becomes CANCELED) and when the server drains
// for shutdown (grpcx turns it into UNAVAILABLE SERVER_DRAINING, telling the
// client to reconnect). A handler that slept through those would hold its
// goroutine, and the server's graceful stop, for up to count × interval.
func (*Greeter) SayHelloStream(req *helloworldv1.SayHelloStreamRequest, stream grpc.ServerStreamingServer[helloworldv1.SayHelloStreamResponse]) error {
	ctx := stream.Context()
	msg := greeting(req.GetName())
	interval := time.Duration(req.GetIntervalMs()) * time.Millisecond

	// One timer reused for every pause: time.After in a loop would allocate
	// a timer per greeting and, before Go 1.23, keep each alive until it
	// fired even after the handler had returned.
	var pause *time.Timer
	defer func() {
		if pause != nil {
			pause.Stop()
		}
	}()

	for seq := uint32(1); seq <= req.GetCount(); seq++ {
		if seq > 1 && interval > 0 {
			if pause == nil {
				pause = time.NewTimer(interval)
			} else {
				pause.Reset(interval) // Go ≥ 1.23: Reset also discards a stale tick
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-pause.C:
			}
		}
		// Send blocks while HTTP/2 flow control says the client is not
		// reading, and fails once the context ends, so a slow or vanished
		// reader cannot pin this loop either.
		if err := stream.Send(&helloworldv1.SayHelloStreamResponse{Message: msg, Sequence: seq}); err != nil {
			return err
		}
	}
	return nil
}
