package auth_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	hellov1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// ticker streams a greeting every interval_ms until count or its context
// ends; it records the principal it ran as.
type ticker struct {
	hellov1.UnimplementedGreeterServiceServer
	principal chan *auth.Principal
}

func (g *ticker) SayHelloStream(r *hellov1.SayHelloStreamRequest, s grpc.ServerStreamingServer[hellov1.SayHelloStreamResponse]) error {
	g.principal <- auth.PrincipalFrom(s.Context())
	t := time.NewTicker(time.Duration(r.GetIntervalMs()) * time.Millisecond)
	defer t.Stop()
	for i := uint32(1); i <= r.GetCount(); i++ {
		if err := s.Send(&hellov1.SayHelloStreamResponse{Message: "hello " + r.GetName(), Sequence: i}); err != nil {
			return err
		}
		select {
		case <-s.Context().Done():
			return s.Context().Err()
		case <-t.C:
		}
	}
	return nil
}

// ranAs returns the principal the handler ran as; it fails the test if the
// handler never ran.
func (g *ticker) ranAs(t *testing.T) *auth.Principal {
	t.Helper()
	select {
	case p := <-g.principal:
		return p
	default:
		t.Fatal("the handler never ran")
		return nil
	}
}

// TestStreamEndsWhenTokenExpires: a stream opened with a valid access
// token ends UNAUTHENTICATED TOKEN_EXPIRED when the token expires, even on
// a public method (the stream runs as the token's principal).
func TestStreamEndsWhenTokenExpires(t *testing.T) {
	t.Parallel()
	const lifetime = 300 * time.Millisecond
	k1 := newKeyPair("k1", 1)
	claims := userClaims(t0, "u1")
	// The clock says the token has 300 ms left; no leeway.
	now := func() time.Time { return claims.ExpiresAt.Add(-lifetime) }
	keys := auth.NewKeySet(newJWKSSource(k1).Fetch, auth.WithClock(now))
	a := auth.NewAuthenticator(auth.WithKeySet(keys), auth.WithClock(now), auth.WithLeeway(0))
	srv, err := grpcx.NewServer(grpcx.WithAuthorizer(a))
	if err != nil {
		t.Fatal(err)
	}
	g := &ticker{principal: make(chan *auth.Principal, 1)}
	hellov1.RegisterGreeterServiceServer(srv, g)
	client := hellov1.NewGreeterServiceClient(serve(t, srv, nil))

	ctx, cancel := context.WithTimeout(withBearer(t.Context(), sign(t, k1, claims)), 10*time.Second)
	defer cancel()
	start := time.Now()
	st, err := client.SayHelloStream(ctx, &hellov1.SayHelloStreamRequest{Name: "u1", Count: 1000, IntervalMs: 10})
	if err != nil {
		t.Fatalf("SayHelloStream() = %v", err)
	}
	n := 0
	for err == nil {
		_, err = st.Recv()
		n++
	}
	elapsed := time.Since(start)
	wantCode(t, "stream.Recv() after the token expired", err, codes.Unauthenticated, "TOKEN_EXPIRED")
	if n < 5 || elapsed < lifetime-50*time.Millisecond || elapsed > 5*time.Second {
		t.Errorf("stream ended after %d messages and %v, want it to run about %v", n, elapsed, lifetime)
	}
	if p := g.ranAs(t); p == nil || p.Subject != "u1" {
		t.Errorf("stream ran as %+v, want user u1", p)
	}
}

// TestStreamWithoutTokenIsUnbounded: an anonymous stream on a public
// method is not cut short.
func TestStreamWithoutTokenIsUnbounded(t *testing.T) {
	t.Parallel()
	e := newKeyEnv()
	srv, err := grpcx.NewServer(grpcx.WithAuthorizer(e.authenticator()))
	if err != nil {
		t.Fatal(err)
	}
	g := &ticker{principal: make(chan *auth.Principal, 1)}
	hellov1.RegisterGreeterServiceServer(srv, g)
	client := hellov1.NewGreeterServiceClient(serve(t, srv, nil))
	st, err := client.SayHelloStream(t.Context(), &hellov1.SayHelloStreamRequest{Name: "anon", Count: 20, IntervalMs: 1})
	if err != nil {
		t.Fatalf("SayHelloStream() = %v", err)
	}
	n := 0
	for ; err == nil; n++ {
		_, err = st.Recv()
	}
	if n != 21 || !errors.Is(err, io.EOF) {
		t.Errorf("anonymous stream: %d receives ending with %v, want 20 messages then EOF", n-1, err)
	}
	if p := g.ranAs(t); p != nil {
		t.Errorf("anonymous stream ran as %+v, want nobody", p)
	}
}
