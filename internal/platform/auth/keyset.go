package auth

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// JWK is one public key of a JSON Web Key Set (RFC 7517). A KeySet accepts
// exactly one shape: an Ed25519 signing key (RFC 8037) with KeyType "OKP",
// Curve "Ed25519", Algorithm "EdDSA", Use "sig" or empty, a non-empty
// KeyID and X the 32-byte public key in unpadded base64url.
type JWK struct {
	KeyID     string
	KeyType   string
	Curve     string
	X         string
	Algorithm string
	Use       string
}

// FetchJWKS returns the current key set and how long it may be cached (zero
// for "unspecified"). IdentityJWKS fetches it from the identity service.
type FetchJWKS func(ctx context.Context) (keys []JWK, ttl time.Duration, err error)

// ErrKeySetUnavailable is returned (wrapped, with the fetch's error) by a
// KeySet lookup that misses while the last fetch of the set failed: the
// token may be fine, it just cannot be checked now.
var ErrKeySetUnavailable = errors.New("key set unavailable")

// KeySet caches the public keys that verify access tokens. Key ids only
// index this fixed set: a token cannot bring its own key.
//
// The set is fetched on first use and again when it is older than its TTL
// or a lookup meets an unknown kid, but never more than once per minimum
// refetch interval (WithMinRefetchInterval), so tokens with made-up kids
// cannot make it hammer its source. Concurrent lookups that need a fetch
// share one. A fetch that fails, or returns a set that does not parse
// strictly, leaves the previous set in place: known keys keep verifying
// while the source is down.
//
// A KeySet is safe for concurrent use.
type KeySet struct {
	fetch FetchJWKS
	cfg   keySetConfig
	state atomic.Pointer[keySetState] // nil until the first fetch attempt
	group singleflight.Group
}

// keySetState is one immutable snapshot; fetches replace it whole.
type keySetState struct {
	keys      map[string]ed25519.PublicKey
	staleAt   time.Time // the keys are fresh until then
	attempted time.Time // the last fetch attempt
	err       error     // that attempt's error; nil if it succeeded
}

// NewKeySet returns a key set filled by fetch. It does not fetch until the
// first lookup; call Refresh to fetch (and check the source) at start-up.
func NewKeySet(fetch FetchJWKS, opts ...KeySetOption) *KeySet {
	if fetch == nil {
		panic("auth: NewKeySet needs a fetch function")
	}
	cfg := defaultKeySetConfig()
	for _, o := range opts {
		o.applyKeySet(&cfg)
	}
	return &KeySet{fetch: fetch, cfg: cfg}
}

// Lookup implements KeyLookup: LookupContext with a background context
// (a fetch is still bounded by the fetch timeout).
func (ks *KeySet) Lookup(kid string) (ed25519.PublicKey, error) {
	return ks.LookupContext(context.Background(), kid)
}

// LookupContext returns the public key with id kid. It refetches the set
// first when the set is stale or has no such key, unless it was fetched
// less than the minimum refetch interval ago. It returns an error wrapping
// ErrUnknownKey when the set has no such key, ErrKeySetUnavailable when it
// has none because the last fetch failed, or ctx's error if ctx ends while
// it waits for a fetch.
func (ks *KeySet) LookupContext(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	st := ks.state.Load()
	now := ks.cfg.now()
	if st != nil {
		if k, ok := st.keys[kid]; ok && now.Before(st.staleAt) {
			return k, nil // the hot path: lock-free
		}
	}
	if st == nil || ks.due(st, now) {
		var err error
		if st, err = ks.refresh(ctx, false); err != nil {
			return nil, err // ctx ended while waiting for the fetch
		}
	}
	if k, ok := st.keys[kid]; ok {
		return k, nil // fresh, or stale while its source is failing
	}
	if st.err != nil {
		return nil, fmt.Errorf("key %q: %w: %w", kid, ErrKeySetUnavailable, st.err)
	}
	return nil, fmt.Errorf("key %q: %w", kid, ErrUnknownKey)
}

// Refresh fetches the set now, whatever the minimum interval (joining a
// fetch already under way). It returns the fetch's error; the previous set
// stays in place on error. Use it at start-up to fail fast, or from a
// readiness check.
func (ks *KeySet) Refresh(ctx context.Context) error {
	st, err := ks.refresh(ctx, true)
	if err != nil {
		return err
	}
	return st.err
}

func (ks *KeySet) due(st *keySetState, now time.Time) bool {
	return now.Sub(st.attempted) >= ks.cfg.minInterval
}

// refresh runs at most one fetch at a time; callers arriving meanwhile wait
// for its result, the state it left. The fetch itself is detached from any
// one caller's cancellation (others may be waiting on it) and bounded by
// the fetch timeout instead. The error is ctx's if ctx ends first.
func (ks *KeySet) refresh(ctx context.Context, force bool) (*keySetState, error) {
	fetchCtx := context.WithoutCancel(ctx)
	ch := ks.group.DoChan("jwks", func() (any, error) {
		return ks.fetchIfDue(fetchCtx, force), nil
	})
	select {
	case r := <-ch:
		st, _ := r.Val.(*keySetState)
		return st, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// fetchIfDue fetches the set unless force is false and the last attempt is
// recent (a caller that waited behind another fetch finds it so), and
// returns the state it leaves, never nil. singleflight runs one at a time,
// so state transitions are serialized.
func (ks *KeySet) fetchIfDue(ctx context.Context, force bool) *keySetState {
	prev := ks.state.Load()
	now := ks.cfg.now()
	if !force && prev != nil && !ks.due(prev, now) {
		return prev
	}
	ctx, cancel := context.WithTimeout(ctx, ks.cfg.fetchTimeout)
	defer cancel()
	jwks, ttl, err := ks.fetch(ctx)
	var keys map[string]ed25519.PublicKey
	if err == nil {
		keys, err = parseJWKS(jwks)
	}
	next := &keySetState{attempted: now}
	if err != nil {
		err = fmt.Errorf("auth: fetch key set: %w", err)
		next.err = err
		if prev != nil {
			next.keys, next.staleAt = prev.keys, prev.staleAt
		}
	} else {
		if ttl <= 0 {
			ttl = DefaultKeySetTTL
		}
		next.keys, next.staleAt = keys, now.Add(max(ttl, ks.cfg.minInterval))
	}
	ks.state.Store(next)
	return next
}

// parseJWKS checks every key strictly and refuses the whole set if any key
// is not an Ed25519 signing key, or two keys share an id: a set we do not
// fully understand is a bug at its source, not something to guess around.
func parseJWKS(jwks []JWK) (map[string]ed25519.PublicKey, error) {
	if len(jwks) == 0 {
		return nil, errors.New("the key set is empty")
	}
	keys := make(map[string]ed25519.PublicKey, len(jwks))
	for i, k := range jwks {
		pub, err := parseJWK(k)
		if err != nil {
			return nil, fmt.Errorf("key %d (kid %q): %w", i, k.KeyID, err)
		}
		if _, dup := keys[k.KeyID]; dup {
			return nil, fmt.Errorf("key %d: kid %q appears twice", i, k.KeyID)
		}
		keys[k.KeyID] = pub
	}
	return keys, nil
}

func parseJWK(k JWK) (ed25519.PublicKey, error) {
	switch {
	case k.KeyID == "":
		return nil, errors.New("no kid")
	case k.KeyType != "OKP":
		return nil, fmt.Errorf("kty %q, want OKP", k.KeyType)
	case k.Curve != "Ed25519":
		return nil, fmt.Errorf("crv %q, want Ed25519", k.Curve)
	case k.Algorithm != "EdDSA":
		return nil, fmt.Errorf("alg %q, want EdDSA", k.Algorithm)
	case k.Use != "" && k.Use != "sig":
		return nil, fmt.Errorf("use %q, want sig", k.Use)
	}
	x, err := base64.RawURLEncoding.Strict().DecodeString(k.X)
	if err != nil {
		return nil, fmt.Errorf("x is not unpadded base64url: %w", err)
	}
	if len(x) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("x has %d bytes, want %d", len(x), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(x), nil
}
