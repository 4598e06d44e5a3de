package grpcx_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

func TestReceive(t *testing.T) {
	t.Parallel()
	msgs := []string{"a", "b"}
	recv := func() (*string, error) {
		if len(msgs) == 0 {
			return nil, io.EOF
		}
		m := msgs[0]
		msgs = msgs[1:]
		return &m, nil
	}
	var got []string
	for in := range grpcx.Receive(t.Context(), recv) {
		if in.Err != nil {
			if !errors.Is(in.Err, io.EOF) {
				t.Fatalf("Receive delivered %v, want io.EOF last", in.Err)
			}
			break
		}
		got = append(got, *in.Msg)
	}
	if len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("Receive delivered %q, want [a b]", got)
	}
}

// TestReceiveStopsWithContext: a blocked recv does not keep the goroutine
// once the call ends (here: recv unblocks when the "stream" closes).
func TestReceiveStopsWithContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	closed := make(chan struct{})
	recv := func() (*int, error) {
		<-closed
		return nil, errors.New("stream closed")
	}
	inbox := grpcx.Receive(ctx, recv)
	cancel()
	close(closed) // what gRPC does once the handler returns
	select {
	case in := <-inbox:
		t.Errorf("Receive delivered %v after its context ended", in)
	case <-time.After(50 * time.Millisecond):
	}
	// goleak (TestMain) proves the goroutine is gone.
}
