package grpcserver

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	notificationv1 "github.com/bazaarhq/bazaar/gen/bazaar/notification/v1"
	"github.com/bazaarhq/bazaar/internal/notification/chat"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// Chat implements notificationv1.SupportServiceServer.
//
// The handler's goroutine reads the client (through grpcx.Receive, so it
// notices the context ending) and acts on the Session; one writer
// goroutine sends: it takes the Session's events (history, then the
// bounded live queue) and calls Send, which blocks while the client does
// not read. A participant who stops reading therefore only fills its own
// bounded queue, and is removed when it is full: the stream ends
// RESOURCE_EXHAUSTED with the last sequence sent, without waiting for the
// blocked Send (ending the stream releases it).
func (s *Server) Chat(stream grpc.BidiStreamingServer[notificationv1.ClientMessage, notificationv1.ServerMessage]) error {
	ctx := stream.Context()
	inbox := grpcx.Receive(ctx, stream.Recv)

	var first *notificationv1.ClientMessage
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
		first = in.Msg
	}
	p := auth.PrincipalFrom(ctx)
	var ss *chat.Session
	var err error
	switch k := first.GetKind().(type) {
	case *notificationv1.ClientMessage_Open:
		ss, err = s.svc.Open(ctx, p, k.Open.GetOrderId(), k.Open.GetAfterSequence())
	case *notificationv1.ClientMessage_Join:
		ss, err = s.svc.Join(ctx, p, k.Join.GetConversationId(), k.Join.GetAfterSequence())
	default:
		return chat.ErrProtocol("the first message must be open or join")
	}
	if err != nil {
		return err
	}
	defer ss.Leave()
	// The handler is the only sender until the writer starts.
	if err := stream.Send(joinedProto(ss)); err != nil {
		return err
	}

	// The writer outlives ctx when the server drains, to send the
	// reconnect notice; it stops with wctx otherwise.
	wctx, stopWriter := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWriter()
	var delivered atomic.Int64 // the last message sequence Send accepted
	writerDone := make(chan error, 1)
	go func() { writerDone <- write(wctx, stream, ss, &delivered) }()

	for {
		select {
		case <-ctx.Done():
			if s.isDraining() {
				ss.Reconnect()
				// How the writer ended does not matter: the stream ends now.
				_ = s.waitWriter(writerDone, s.reconnectWait)
			}
			// The chain turns this into SERVER_DRAINING when draining and
			// UNAUTHENTICATED when the token expired.
			return ctx.Err()
		case err := <-writerDone:
			if errors.Is(err, chat.ErrQueueFull) {
				return chat.QueueFullError(delivered.Load())
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		case <-ss.Done():
			if errors.Is(ss.Err(), chat.ErrQueueFull) {
				// The writer may be blocked in Send: do not wait for it.
				return chat.QueueFullError(delivered.Load())
			}
			return ss.Err()
		case in := <-inbox:
			if errors.Is(in.Err, io.EOF) {
				return nil // the client is done: it leaves
			}
			if in.Err != nil {
				return in.Err
			}
			if err := s.handle(ctx, ss, in.Msg); err != nil {
				if errors.Is(err, chat.ErrQueueFull) {
					return chat.QueueFullError(delivered.Load())
				}
				return err
			}
		}
	}
}

func (s *Server) handle(ctx context.Context, ss *chat.Session, msg *notificationv1.ClientMessage) error {
	switch k := msg.GetKind().(type) {
	case *notificationv1.ClientMessage_Send:
		_, err := ss.Send(ctx, k.Send.GetClientMessageId(), k.Send.GetText())
		return err
	case *notificationv1.ClientMessage_Typing:
		ss.Typing()
	case *notificationv1.ClientMessage_Read:
		ss.Read(k.Read.GetSequence())
	default:
		return chat.ErrProtocol("open and join only come first")
	}
	return nil
}

func (s *Server) isDraining() bool {
	select {
	case <-s.draining:
		return true
	default:
		return false
	}
}

// waitWriter waits up to d for the writer to end and returns its error
// (nil if it is still running).
func (s *Server) waitWriter(done <-chan error, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return nil
	}
}

// write sends the Session's events until it ends or a Send fails.
func write(ctx context.Context, stream grpc.BidiStreamingServer[notificationv1.ClientMessage, notificationv1.ServerMessage], ss *chat.Session, delivered *atomic.Int64) error {
	for {
		ev, err := ss.Next(ctx)
		if err != nil {
			return err
		}
		if err := stream.Send(eventProto(ev)); err != nil {
			return err
		}
		if ev.Kind == chat.EventMessage {
			delivered.Store(max(delivered.Load(), ev.Message.Sequence))
		}
	}
}
