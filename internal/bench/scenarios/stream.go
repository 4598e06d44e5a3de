package scenarios

import (
	"context"
	"errors"
	"io"
	"sync"
)

// inbox pumps a stream's messages into a channel, so that a request can
// wait for one with its own deadline; the stream lives as long as the
// scenario.
type inbox[T any] struct {
	c    chan T
	err  error // why the stream ended, read after c is closed
	done chan struct{}
}

func newInbox[T any](ctx context.Context, recv func() (T, error)) *inbox[T] {
	in := &inbox[T]{c: make(chan T, 256), done: make(chan struct{})}
	go func() {
		defer close(in.done)
		defer close(in.c)
		for {
			m, err := recv()
			if err != nil {
				in.err = err
				return
			}
			select {
			case in.c <- m:
			case <-ctx.Done():
				in.err = ctx.Err()
				return
			}
		}
	}()
	return in
}

// next waits for the first message match accepts, skipping the others.
func (in *inbox[T]) next(ctx context.Context, match func(T) bool) (T, error) {
	var zero T
	for {
		select {
		case <-ctx.Done():
			return zero, ctx.Err()
		case m, ok := <-in.c:
			if !ok {
				if in.err == nil || errors.Is(in.err, io.EOF) {
					return zero, io.ErrUnexpectedEOF
				}
				return zero, in.err
			}
			if match(m) {
				return m, nil
			}
		}
	}
}

// streams owns the long-lived streams' context.
type streams struct {
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	waits  []chan struct{}
}

func newStreams(parent context.Context) *streams {
	ctx, cancel := context.WithCancel(parent)
	return &streams{ctx: ctx, cancel: cancel}
}

func (s *streams) track(done chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, done)
}

// stop cancels every stream and waits for their pumps.
func (s *streams) stop() {
	s.cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.waits {
		<-w
	}
}
