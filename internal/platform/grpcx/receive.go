package grpcx

import "context"

// Received is one result of a stream's Recv: a message or the error that
// ended the stream (io.EOF when the client closed its side).
type Received[T any] struct {
	Msg *T
	Err error
}

// Receive calls recv (a stream's Recv method) in a goroutine of its own and
// delivers each result on the returned channel, ending after the first
// error. It exists because Recv does not watch the handler's context: a
// handler blocked in Recv would not notice that the client went away or that
// the server started draining (which cancels the context of server-sending
// streams). With Receive, a handler selects on ctx.Done() and the channel:
//
//	inbox := grpcx.Receive(ctx, stream.Recv)
//	for {
//		select {
//		case <-ctx.Done():
//			return ctx.Err()
//		case in := <-inbox:
//			if errors.Is(in.Err, io.EOF) { return nil }
//			...
//		}
//	}
//
// When ctx ends the goroutine stops delivering; if it is blocked in recv, it
// returns as soon as the handler does, because gRPC then ends the stream.
// Only one goroutine may call recv, so never call Recv elsewhere too.
func Receive[T any](ctx context.Context, recv func() (*T, error)) <-chan Received[T] {
	ch := make(chan Received[T])
	go func() {
		for {
			m, err := recv()
			if ctx.Err() != nil { // the handler has stopped listening
				return
			}
			select {
			case ch <- Received[T]{Msg: m, Err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ch
}
