package auth_test

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
)

func authorizeToken(t *testing.T, a *auth.Authenticator, token string) error {
	t.Helper()
	_, err := a.Authorize(bearer(t, token), method, authenticated)
	return err
}

func wantCacheLen(t *testing.T, a *auth.Authenticator, want int) {
	t.Helper()
	if got := auth.TokenCacheLen(a); got != want {
		t.Errorf("token cache holds %d tokens, want %d", got, want)
	}
}

// TestTokenCacheRemembersOnlySuccesses: a verified token is remembered;
// a failure never is.
func TestTokenCacheRemembersOnlySuccesses(t *testing.T) {
	t.Parallel()
	e := newKeyEnv()
	a := e.authenticator()
	token := sign(t, e.k1, userClaims(t0, "u1"))
	for range 3 {
		if err := authorizeToken(t, a, token); err != nil {
			t.Fatalf("Authorize(valid) = %v", err)
		}
	}
	wantCacheLen(t, a, 1)
	forged := sign(t, keyPair{signing: auth.SigningKey{ID: "k1", Private: newKeyPair("x", 9).signing.Private}}, userClaims(t0, "u1"))
	for range 2 {
		wantCode(t, "Authorize(forged)", authorizeToken(t, a, forged), codes.Unauthenticated, "TOKEN_INVALID")
	}
	wantCacheLen(t, a, 1)
}

// TestTokenCacheEntryExpiresWithToken: a cached token is refused once
// past exp + leeway, as an uncached one would be.
func TestTokenCacheEntryExpiresWithToken(t *testing.T) {
	t.Parallel()
	e := newKeyEnv()
	a := e.authenticator()
	c := userClaims(t0, "u1")
	token := sign(t, e.k1, c)
	if err := authorizeToken(t, a, token); err != nil {
		t.Fatalf("Authorize(valid) = %v", err)
	}
	e.clock.Advance(c.ExpiresAt.Sub(t0) + auth.DefaultLeeway - time.Second)
	if err := authorizeToken(t, a, token); err != nil {
		t.Errorf("Authorize(cached, 1s before exp+leeway) = %v, want nil", err)
	}
	e.clock.Advance(time.Second)
	wantCode(t, "Authorize(cached, at exp+leeway)", authorizeToken(t, a, token), codes.Unauthenticated, "TOKEN_EXPIRED")
	wantCacheLen(t, a, 0)
}

// TestTokenCacheAndKeyChanges: rotation keeps cached tokens valid; a key
// removed from the set, or a kid now naming another key, refuses them as
// soon as the set is refetched, exactly as without the cache.
func TestTokenCacheAndKeyChanges(t *testing.T) {
	t.Parallel()
	k2 := newKeyPair("k2", 2)
	for _, tc := range []struct {
		name      string
		published []keyPair
		code      codes.Code
		reason    string
	}{
		{"rotated: old key still published", []keyPair{k2, newKeyPair("k1", 1)}, codes.OK, ""},
		{"old key removed", []keyPair{k2}, codes.Unauthenticated, "UNKNOWN_SIGNING_KEY"},
		{"kid reused for another key", []keyPair{newKeyPair("k1", 3)}, codes.Unauthenticated, "TOKEN_INVALID"},
	} {
		for _, cacheSize := range []int{auth.DefaultTokenCacheSize, 0} {
			t.Run(fmt.Sprintf("%s/cache %d", tc.name, cacheSize), func(t *testing.T) {
				t.Parallel()
				e := newKeyEnv()
				a := e.authenticator(auth.WithTokenCacheSize(cacheSize))
				token := sign(t, e.k1, userClaims(t0, "u1"))
				if err := authorizeToken(t, a, token); err != nil {
					t.Fatalf("Authorize(before) = %v", err)
				}
				e.src.publish(tc.published...)
				e.clock.Advance(e.src.ttl) // the set is stale: the next lookup refetches
				wantCode(t, "Authorize(after key change)", authorizeToken(t, a, token), tc.code, tc.reason)
			})
		}
	}
}

func TestTokenCacheIsBounded(t *testing.T) {
	t.Parallel()
	e := newKeyEnv()
	a := e.authenticator(auth.WithTokenCacheSize(2))
	for i := range 5 {
		if err := authorizeToken(t, a, sign(t, e.k1, userClaims(t0, fmt.Sprint("u", i)))); err != nil {
			t.Fatalf("Authorize(u%d) = %v", i, err)
		}
	}
	wantCacheLen(t, a, 2)
}

func TestTokenCacheOff(t *testing.T) {
	t.Parallel()
	e := newKeyEnv()
	a := e.authenticator(auth.WithTokenCacheSize(0))
	token := sign(t, e.k1, userClaims(t0, "u1"))
	for range 2 {
		if err := authorizeToken(t, a, token); err != nil {
			t.Errorf("Authorize(valid, no cache) = %v", err)
		}
	}
	wantCacheLen(t, a, 0)
}
