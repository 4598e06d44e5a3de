package auth_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
)

func lookupOK(t *testing.T, ks *auth.KeySet, kid string, want ed25519.PublicKey) {
	t.Helper()
	got, err := ks.LookupContext(t.Context(), kid)
	if err != nil || !want.Equal(got) {
		t.Errorf("Lookup(%q) = %x, %v; want %x, nil", kid, got, err, want)
	}
}

func lookupFails(t *testing.T, ks *auth.KeySet, kid string, want error) {
	t.Helper()
	if _, err := ks.LookupContext(t.Context(), kid); !errors.Is(err, want) {
		t.Errorf("Lookup(%q) = %v, want %v", kid, err, want)
	}
}

func TestKeySetUnknownKidRefetchesOncePerInterval(t *testing.T) {
	t.Parallel()
	e := newKeyEnv()
	lookupOK(t, e.keys, "k1", e.k1.public)
	lookupFails(t, e.keys, "k2", auth.ErrUnknownKey) // fetched just now: no refetch
	if n := e.src.count(); n != 1 {
		t.Fatalf("fetches = %d, want 1", n)
	}
	k2 := newKeyPair("k2", 2)
	e.src.publish(e.k1, k2)
	e.clock.Advance(29 * time.Second)
	lookupFails(t, e.keys, "k2", auth.ErrUnknownKey)
	e.clock.Advance(time.Second) // the interval has passed
	lookupOK(t, e.keys, "k2", k2.public)
	lookupOK(t, e.keys, "k1", e.k1.public)
	if n := e.src.count(); n != 2 {
		t.Errorf("fetches = %d, want 2", n)
	}
}

func TestKeySetMinRefetchIntervalOption(t *testing.T) {
	t.Parallel()
	clock := newClock(t0)
	src := newJWKSSource(newKeyPair("k1", 1))
	ks := auth.NewKeySet(src.Fetch, auth.WithClock(clock.Now), auth.WithMinRefetchInterval(time.Minute))
	lookupFails(t, ks, "k9", auth.ErrUnknownKey)
	clock.Advance(59 * time.Second)
	lookupFails(t, ks, "k9", auth.ErrUnknownKey)
	if n := src.count(); n != 1 {
		t.Errorf("fetches within the 1m interval = %d, want 1", n)
	}
	clock.Advance(time.Second)
	lookupFails(t, ks, "k9", auth.ErrUnknownKey)
	if n := src.count(); n != 2 {
		t.Errorf("fetches after the 1m interval = %d, want 2", n)
	}
}

// TestKeySetConcurrentMissesShareOneFetch: lookups that miss while a fetch
// is under way wait for it instead of failing or fetching again.
func TestKeySetConcurrentMissesShareOneFetch(t *testing.T) {
	t.Parallel()
	clock := newClock(t0)
	k1 := newKeyPair("k1", 1)
	src := newJWKSSource(k1)
	src.gate = make(chan struct{})
	ks := auth.NewKeySet(src.Fetch, auth.WithClock(clock.Now))
	const n = 50
	var started, done sync.WaitGroup
	errc := make(chan error, n)
	for range n {
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			started.Done()
			_, err := ks.LookupContext(t.Context(), "k1")
			errc <- err
		}()
	}
	started.Wait()
	time.Sleep(20 * time.Millisecond) // let them reach the fetch
	close(src.gate)
	done.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Errorf("concurrent Lookup(k1) = %v, want nil", err)
		}
	}
	if got := src.count(); got != 1 {
		t.Errorf("fetches = %d, want 1", got)
	}
}

// TestKeySetLookupHonoursContext: a caller whose context ends stops
// waiting; the fetch goes on for the others.
func TestKeySetLookupHonoursContext(t *testing.T) {
	t.Parallel()
	k1 := newKeyPair("k1", 1)
	src := newJWKSSource(k1)
	src.gate = make(chan struct{})
	ks := auth.NewKeySet(src.Fetch)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := ks.LookupContext(ctx, "k1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lookup(k1) with a short deadline = %v, want DeadlineExceeded", err)
	}
	close(src.gate)
	lookupOK(t, ks, "k1", k1.public) // joins or follows the same fetch
	if n := src.count(); n != 1 {
		t.Errorf("fetches = %d, want 1", n)
	}
}

func TestKeySetFetchTimeout(t *testing.T) {
	t.Parallel()
	src := newJWKSSource(newKeyPair("k1", 1))
	src.gate = make(chan struct{}) // never opened: the fetch hangs
	ks := auth.NewKeySet(src.Fetch, auth.WithFetchTimeout(20*time.Millisecond))
	err := ks.Refresh(t.Context())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Refresh() of a hanging source = %v, want DeadlineExceeded", err)
	}
	lookupFails(t, ks, "k1", auth.ErrKeySetUnavailable)
}

// TestKeySetKeepsServingWhileSourceFails: a failed refetch keeps the last
// good set; a kid it does not have is "unavailable", not "unknown".
func TestKeySetKeepsServingWhileSourceFails(t *testing.T) {
	t.Parallel()
	e := newKeyEnv()
	if err := e.keys.Refresh(t.Context()); err != nil {
		t.Fatalf("Refresh() = %v", err)
	}
	down := errors.New("connection refused")
	e.src.fail(down)
	e.clock.Advance(10 * time.Minute) // the set is stale
	lookupOK(t, e.keys, "k1", e.k1.public)
	if n := e.src.count(); n != 2 {
		t.Errorf("fetches = %d, want 2 (a refetch of the stale set)", n)
	}
	lookupFails(t, e.keys, "k9", auth.ErrKeySetUnavailable)
	if _, err := e.keys.LookupContext(t.Context(), "k9"); !errors.Is(err, down) {
		t.Errorf("Lookup(k9) = %v, want it to wrap the fetch's error", err)
	}
	if err := e.keys.Refresh(t.Context()); !errors.Is(err, down) {
		t.Errorf("Refresh() = %v, want %v", err, down)
	}
	e.src.fail(nil)
	if err := e.keys.Refresh(t.Context()); err != nil {
		t.Errorf("Refresh() after recovery = %v", err)
	}
	lookupFails(t, e.keys, "k9", auth.ErrUnknownKey)
}

// TestKeySetRefetchesWhenStale: the set is refetched after its TTL, and a
// key removed from it stops verifying then.
func TestKeySetRefetchesWhenStale(t *testing.T) {
	t.Parallel()
	e := newKeyEnv()
	e.src.ttl = 2 * time.Minute
	lookupOK(t, e.keys, "k1", e.k1.public)
	k2 := newKeyPair("k2", 2)
	e.src.publish(k2)
	e.clock.Advance(2*time.Minute - time.Second)
	lookupOK(t, e.keys, "k1", e.k1.public)
	if n := e.src.count(); n != 1 {
		t.Errorf("fetches before the TTL = %d, want 1", n)
	}
	e.clock.Advance(time.Second)
	lookupFails(t, e.keys, "k1", auth.ErrUnknownKey)
	if n := e.src.count(); n != 2 {
		t.Errorf("fetches after the TTL = %d, want 2", n)
	}
}

func TestKeySetTTLIsAtLeastTheInterval(t *testing.T) {
	t.Parallel()
	e := newKeyEnv()
	e.src.ttl = time.Second // a source asking for 1 s caching
	lookupOK(t, e.keys, "k1", e.k1.public)
	e.clock.Advance(auth.DefaultMinRefetchInterval - time.Second)
	lookupOK(t, e.keys, "k1", e.k1.public)
	if n := e.src.count(); n != 1 {
		t.Errorf("fetches within the minimum interval = %d, want 1", n)
	}
}

func TestKeySetRefusesMalformedKeys(t *testing.T) {
	t.Parallel()
	good := newKeyPair("k1", 1).jwk()
	with := func(mutate func(k *auth.JWK)) []auth.JWK {
		k := good
		mutate(&k)
		return []auth.JWK{k}
	}
	for _, tc := range []struct {
		name string
		keys []auth.JWK
	}{
		{"empty set", nil},
		{"no kid", with(func(k *auth.JWK) { k.KeyID = "" })},
		{"kty RSA", with(func(k *auth.JWK) { k.KeyType = "RSA" })},
		{"kty oct", with(func(k *auth.JWK) { k.KeyType = "oct" })},
		{"crv X25519", with(func(k *auth.JWK) { k.Curve = "X25519" })},
		{"alg HS256", with(func(k *auth.JWK) { k.Algorithm = "HS256" })},
		{"alg missing", with(func(k *auth.JWK) { k.Algorithm = "" })},
		{"use enc", with(func(k *auth.JWK) { k.Use = "enc" })},
		{"x padded", with(func(k *auth.JWK) { k.X += "=" })},
		{"x standard base64", with(func(k *auth.JWK) { k.X = base64.StdEncoding.EncodeToString(bytesOf(0xfb, 32)) })},
		{"x 31 bytes", with(func(k *auth.JWK) { k.X = base64.RawURLEncoding.EncodeToString(bytesOf(1, 31)) })},
		{"x 33 bytes", with(func(k *auth.JWK) { k.X = base64.RawURLEncoding.EncodeToString(bytesOf(1, 33)) })},
		{"x non-canonical", with(func(k *auth.JWK) { k.X = k.X[:len(k.X)-1] + "B" })},
		{"duplicate kid", []auth.JWK{good, newKeyPair("k1", 2).jwk()}},
		{"one bad key among good", []auth.JWK{good, func() auth.JWK { k := newKeyPair("k2", 2).jwk(); k.Algorithm = "ES256"; return k }()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newClock(t0)
			src := newJWKSSource(newKeyPair("k1", 1))
			ks := auth.NewKeySet(src.Fetch, auth.WithClock(clock.Now))
			if err := ks.Refresh(t.Context()); err != nil {
				t.Fatalf("Refresh(good set) = %v", err)
			}
			src.publishJWKs(tc.keys...)
			if err := ks.Refresh(t.Context()); err == nil {
				t.Errorf("Refresh(%s) = nil, want an error", tc.name)
			}
			// The last good set stays.
			lookupOK(t, ks, "k1", newKeyPair("k1", 1).public)
			lookupFails(t, ks, "k2", auth.ErrKeySetUnavailable)
		})
	}
}

func TestKeySetAcceptsUseOmitted(t *testing.T) {
	t.Parallel()
	k := newKeyPair("k1", 1)
	jwk := k.jwk()
	jwk.Use = ""
	src := newJWKSSource()
	src.publishJWKs(jwk)
	ks := auth.NewKeySet(src.Fetch)
	lookupOK(t, ks, "k1", k.public)
}

// TestIdentityJWKS: the adapter reads GetJwks over gRPC, cache_seconds
// included.
func TestIdentityJWKS(t *testing.T) {
	t.Parallel()
	f := newFakeIdentity()
	k1, k2 := newKeyPair("k1", 1), newKeyPair("k2", 2)
	f.publish(k1, k2)
	client := serveIdentity(t, f, nil)
	keys, ttl, err := auth.IdentityJWKS(client)(t.Context())
	if err != nil {
		t.Fatalf("IdentityJWKS() = %v", err)
	}
	if len(keys) != 2 || keys[0] != k1.jwk() || keys[1] != k2.jwk() || ttl != 300*time.Second {
		t.Errorf("IdentityJWKS() = %v, %v; want k1, k2 and 5m", keys, ttl)
	}
	ks := auth.NewKeySet(auth.IdentityJWKS(client))
	lookupOK(t, ks, "k2", k2.public)

	// The fetch obeys its context.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := auth.IdentityJWKS(client)(ctx); err == nil {
		t.Errorf("IdentityJWKS(cancelled ctx) = nil error, want one")
	}
}

func TestNewKeySetNeedsFetch(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Errorf("NewKeySet(nil) did not panic")
		}
	}()
	auth.NewKeySet(nil)
}
