package grpcserver_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	notificationv1 "github.com/bazaarhq/bazaar/gen/bazaar/notification/v1"
	"github.com/bazaarhq/bazaar/internal/notification/chat"
	"github.com/bazaarhq/bazaar/internal/notification/chat/grpcserver"
	"github.com/bazaarhq/bazaar/internal/notification/chat/store"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// testPrincipalHeader carries the caller in tests: "user:ID:role,role".
const testPrincipalHeader = "x-test-principal"

// testExpiresHeader makes the caller's credential expire after a Go
// duration, as the real Authenticator bounds a call by its token.
const testExpiresHeader = "x-test-expires-in"

// headerTestAuthorizer is TEST SUPPORT, not the production authenticator:
// it trusts whatever user the x-test-principal header names (no token, no
// signature), admits the call when that user satisfies the method's
// policy, and bounds the call by x-test-expires-in with the cause the real
// Authenticator uses.
type headerTestAuthorizer struct{}

func (headerTestAuthorizer) Authorize(ctx context.Context, method string, policy *auth.Policy) (context.Context, error) {
	var p *auth.Principal
	if v := metadata.ValueFromIncomingContext(ctx, testPrincipalHeader); len(v) > 0 {
		parts := strings.SplitN(v[0]+"::", ":", 4)
		p = &auth.Principal{Kind: auth.User, Subject: parts[1]}
		if parts[0] == "service" {
			p.Kind = auth.Service
		}
		if parts[2] != "" {
			p.Roles = strings.Split(parts[2], ",")
		}
	}
	if !p.Admits(policy) {
		if p == nil {
			return ctx, errs.New(errs.Unauthenticated, "CREDENTIALS_REQUIRED", "this method needs credentials")
		}
		return ctx, errs.New(errs.PermissionDenied, "POLICY_DENIED", "the caller may not call "+method)
	}
	if v := metadata.ValueFromIncomingContext(ctx, testExpiresHeader); len(v) > 0 {
		d, err := time.ParseDuration(v[0])
		if err != nil {
			return ctx, errs.New(errs.Unauthenticated, "TOKEN_INVALID", "bad test expiry")
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, d,
			errs.New(errs.Unauthenticated, auth.ReasonTokenExpired, "the credential expired during the call"))
		context.AfterFunc(ctx, cancel)
	}
	if p != nil {
		ctx = auth.WithPrincipal(ctx, p)
	}
	return ctx, nil
}

// The callers of the tests.
var (
	alice = "user:u-alice:customer"
	bob   = "user:u-bob:customer"
	agent = "user:u-agent:support"
)

// harness is a real grpcx.Server serving the chat API over bufconn.
type harness struct {
	svc  *chat.Service
	st   *store.Store
	lis  *bufconn.Listener
	stop func() // drains the server and waits for Serve to return
}

type config struct {
	cfg chat.Config
	st  *store.Store
}

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatalf("store.Open() = %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func start(t testing.TB, c config) *harness {
	t.Helper()
	if c.st == nil {
		c.st = openStore(t)
	}
	svc, err := chat.New(c.st, c.cfg)
	if err != nil {
		t.Fatalf("chat.New() = %v", err)
	}
	srv, err := grpcx.NewServer(grpcx.WithAuthorizer(headerTestAuthorizer{}), grpcx.WithShutdownGrace(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	grpcserver.Register(srv, svc, grpcserver.WithReconnectWait(time.Second))
	lis := bufconn.Listen(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	h := &harness{svc: svc, st: c.st, lis: lis}
	var stopped bool
	h.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve() = %v", err)
		}
	}
	t.Cleanup(h.stop)
	return h
}

// client dials the harness; extra options tune the transport.
func (h *harness) client(t testing.TB, opts ...grpc.DialOption) notificationv1.SupportServiceClient {
	t.Helper()
	return notificationv1.NewSupportServiceClient(h.dial(t, opts...))
}

// dial returns a connection of its own to the harness.
func (h *harness) dial(t testing.TB, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	opts = append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return h.lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}, opts...)
	cc, err := grpc.NewClient("passthrough:///chat", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

func callCtx(t testing.TB, who string, kv ...string) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, append([]string{testPrincipalHeader, who}, kv...)...), cancel
}

// conn is one participant's Chat stream; events are received in a
// goroutine into a channel so that tests can wait with timeouts.
type conn struct {
	t      testing.TB
	stream grpc.BidiStreamingClient[notificationv1.ClientMessage, notificationv1.ServerMessage]
	cancel context.CancelFunc
	events chan *notificationv1.ServerMessage
	err    chan error // the stream's end (never io.EOF: nil then)
}

// dial opens a Chat stream as who, sends first and (unless lazy) starts
// receiving.
func dialChat(t testing.TB, cl notificationv1.SupportServiceClient, who string, first *notificationv1.ClientMessage, kv ...string) *conn {
	t.Helper()
	ctx, cancel := callCtx(t, who, kv...)
	stream, err := cl.Chat(ctx)
	if err != nil {
		t.Fatalf("Chat() = %v", err)
	}
	c := &conn{t: t, stream: stream, cancel: cancel, events: make(chan *notificationv1.ServerMessage, 10000), err: make(chan error, 1)}
	if err := stream.Send(first); err != nil {
		t.Fatalf("Send(first) = %v", err)
	}
	return c
}

func (c *conn) receive() *conn {
	go func() {
		for {
			m, err := c.stream.Recv()
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				c.err <- err
				close(c.events)
				return
			}
			c.events <- m
		}
	}()
	return c
}

func open(orderID string, after int64) *notificationv1.ClientMessage {
	return &notificationv1.ClientMessage{Kind: &notificationv1.ClientMessage_Open{Open: &notificationv1.OpenConversation{OrderId: orderID, AfterSequence: after}}}
}

func join(id string, after int64) *notificationv1.ClientMessage {
	return &notificationv1.ClientMessage{Kind: &notificationv1.ClientMessage_Join{Join: &notificationv1.JoinConversation{ConversationId: id, AfterSequence: after}}}
}

func send(id, text string) *notificationv1.ClientMessage {
	return &notificationv1.ClientMessage{Kind: &notificationv1.ClientMessage_Send{Send: &notificationv1.SendMessage{ClientMessageId: id, Text: text}}}
}

func typing() *notificationv1.ClientMessage {
	return &notificationv1.ClientMessage{Kind: &notificationv1.ClientMessage_Typing{Typing: &notificationv1.Typing{}}}
}

func (c *conn) send(m *notificationv1.ClientMessage) {
	c.t.Helper()
	if err := c.stream.Send(m); err != nil {
		c.t.Fatalf("Send() = %v", err)
	}
}

// next returns the next event, failing the test after a while.
func (c *conn) next() *notificationv1.ServerMessage {
	c.t.Helper()
	select {
	case m, ok := <-c.events:
		if !ok {
			c.t.Fatalf("stream ended: %v", <-c.err)
		}
		return m
	case <-time.After(5 * time.Second):
		c.t.Fatal("no event within 5s")
	}
	return nil
}

// nextWhere skips events until one satisfies ok.
func (c *conn) nextWhere(ok func(*notificationv1.ServerMessage) bool) *notificationv1.ServerMessage {
	c.t.Helper()
	for {
		if m := c.next(); ok(m) {
			return m
		}
	}
}

func (c *conn) joined() *notificationv1.Joined {
	c.t.Helper()
	m := c.next()
	if m.GetJoined() == nil {
		c.t.Fatalf("first event = %v, want joined", m)
	}
	return m.GetJoined()
}

func (c *conn) message() *notificationv1.ChatMessage {
	c.t.Helper()
	return c.nextWhere(func(m *notificationv1.ServerMessage) bool { return m.GetMessage() != nil }).GetMessage()
}

// end waits for the stream's end and returns its status details.
func (c *conn) end() errs.Details {
	c.t.Helper()
	for {
		select {
		case _, ok := <-c.events:
			if ok {
				continue
			}
			return errs.FromError(<-c.err)
		case <-time.After(10 * time.Second):
			c.t.Fatal("stream did not end within 10s")
		}
	}
}

// quiet fails if an event arrives within d.
func (c *conn) quiet(d time.Duration) {
	c.t.Helper()
	select {
	case m := <-c.events:
		c.t.Fatalf("unexpected event %v", m)
	case <-time.After(d):
	}
}

func wantCode(t testing.TB, what string, d errs.Details, code codes.Code, reason string) {
	t.Helper()
	if d.Code != code || (reason != "" && d.Reason != reason) {
		t.Fatalf("%s ended %v %s (%s), want %v %s", what, d.Code, d.Reason, d.Message, code, reason)
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func text(i int) string { return fmt.Sprintf("message %d", i) }
