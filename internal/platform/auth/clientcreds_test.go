package auth_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	identityv1 "github.com/bazaarhq/bazaar/gen/bazaar/identity/v1"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
)

// tokenIssuer answers Token like the identity service: a new token each
// call, valid for life; a wrong secret is UNAUTHENTICATED.
type tokenIssuer struct {
	identityv1.IdentityServiceClient
	calls atomic.Int64
	life  time.Duration
	delay time.Duration
}

func (i *tokenIssuer) Token(ctx context.Context, req *identityv1.TokenRequest, _ ...grpc.CallOption) (*identityv1.TokenResponse, error) {
	n := i.calls.Add(1)
	if req.GetClientSecret() != "s3cret" {
		return nil, status.Error(codes.Unauthenticated, "unknown client or wrong client secret")
	}
	select {
	case <-time.After(i.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &identityv1.TokenResponse{
		AccessToken: fmt.Sprintf("token-%d-%s", n, req.GetScope()), TokenType: "Bearer", ExpiresIn: int64(i.life / time.Second),
	}, nil
}

func TestClientCredentialsCachesUntilNearExpiry(t *testing.T) {
	t.Parallel()
	issuer := &tokenIssuer{life: 15 * time.Minute}
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	creds := auth.NewClientCredentials(issuer, "cl_1", "s3cret", auth.WithScope("inventory:reserve"), auth.WithCredentialsClock(clock))

	md, err := creds.GetRequestMetadata(t.Context())
	if err != nil || md["authorization"] != "Bearer token-1-inventory:reserve" {
		t.Fatalf("GetRequestMetadata() = %v, %v; want the first token for the asked scope", md, err)
	}
	advance(13 * time.Minute) // before the last tenth of its life
	if tok, _ := creds.Token(t.Context()); tok != "token-1-inventory:reserve" || issuer.calls.Load() != 1 {
		t.Errorf("Token() at 13 min = %q after %d calls, want the cached token", tok, issuer.calls.Load())
	}
	advance(time.Minute) // 14 min: within 90 s of expiry
	if tok, _ := creds.Token(t.Context()); tok != "token-2-inventory:reserve" {
		t.Errorf("Token() at 14 min = %q, want a fresh one", tok)
	}
	if creds.RequireTransportSecurity() {
		t.Error("RequireTransportSecurity() = true by default, want false (plaintext loopback)")
	}
}

// TestClientCredentialsShareOneFetch: concurrent callers without a token
// make one Token call; a caller who gives up does not cancel it for the
// others.
func TestClientCredentialsShareOneFetch(t *testing.T) {
	t.Parallel()
	issuer := &tokenIssuer{life: time.Hour, delay: 50 * time.Millisecond}
	creds := auth.NewClientCredentials(issuer, "cl_1", "s3cret")
	impatient, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := creds.Token(impatient); err == nil {
		t.Error("Token(cancelled context) = nil error")
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if tok, err := creds.Token(t.Context()); err != nil || tok != "token-1-" {
				t.Errorf("Token() = %q, %v; want the one shared token", tok, err)
			}
		})
	}
	wg.Wait()
	if n := issuer.calls.Load(); n != 1 {
		t.Errorf("Token calls = %d, want 1", n)
	}
}

func TestClientCredentialsWrongSecret(t *testing.T) {
	t.Parallel()
	creds := auth.NewClientCredentials(&tokenIssuer{life: time.Hour}, "cl_1", "wrong")
	_, err := creds.GetRequestMetadata(t.Context())
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("GetRequestMetadata(wrong secret) = %v, want Unauthenticated", err)
	}
}
