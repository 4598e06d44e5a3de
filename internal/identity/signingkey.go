package identity

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// SigningKey is an Ed25519 key that signs access tokens during one period.
// Its life is fixed by its times (see the package documentation):
//
//	CreateTime ≤ ActivateTime < RetireTime < ExpireTime
//	published: [CreateTime, ExpireTime)   signs: [ActivateTime, RetireTime)
type SigningKey struct {
	// ID is the key's RFC 7638 JWK thumbprint, the kid of its tokens.
	ID string
	// Private is the private key. In production it would stay in a KMS;
	// see the package documentation.
	Private ed25519.PrivateKey
	// CreateTime is when the key was made and published.
	CreateTime time.Time
	// ActivateTime is when it starts signing.
	ActivateTime time.Time
	// RetireTime is when it stops signing.
	RetireTime time.Time
	// ExpireTime is when the last token it signed has expired, and it
	// leaves the key set.
	ExpireTime time.Time
}

// SignsAt reports whether k is in its signing period at t.
func (k *SigningKey) SignsAt(t time.Time) bool {
	return !t.Before(k.ActivateTime) && t.Before(k.RetireTime)
}

// PublishedAt reports whether k belongs to the key set at t.
func (k *SigningKey) PublishedAt(t time.Time) bool {
	return !t.Before(k.CreateTime) && t.Before(k.ExpireTime)
}

// PublicKey is the public half of a signing key, as published.
type PublicKey struct {
	// ID is the kid.
	ID string
	// Key is the Ed25519 public key.
	Key ed25519.PublicKey
	// ActivateTime, RetireTime and ExpireTime are the key's schedule.
	ActivateTime, RetireTime, ExpireTime time.Time
}

// Public returns the public half of k.
func (k *SigningKey) Public() PublicKey {
	pub, _ := k.Private.Public().(ed25519.PublicKey)
	return PublicKey{ID: k.ID, Key: pub, ActivateTime: k.ActivateTime, RetireTime: k.RetireTime, ExpireTime: k.ExpireTime}
}

// KeyThumbprint returns the RFC 7638 thumbprint of an Ed25519 public key:
// the SHA-256 of its canonical JWK {"crv","kty","x"}, base64url without
// padding.
func KeyThumbprint(pub ed25519.PublicKey) string {
	canonical := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// keyCache is the service's copy of the signing keys, read again after
// KeyCacheTTL or when it has no key for the time asked.
type keyCache struct {
	mu       sync.Mutex
	keys     []*SigningKey
	loadTime time.Time
	loaded   bool
	// gen counts invalidations, so that a load that started before one
	// does not store what it read after it.
	gen uint64
}

func (c *keyCache) get(now time.Time, ttl time.Duration) (keys []*SigningKey, gen uint64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded || now.Sub(c.loadTime) >= ttl || now.Before(c.loadTime) {
		return nil, c.gen, false
	}
	return c.keys, c.gen, true
}

func (c *keyCache) set(keys []*SigningKey, now time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen == c.gen {
		c.keys, c.loadTime, c.loaded = keys, now, true
	}
}

func (c *keyCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loaded = false
	c.gen++
}

// loadKeys returns the signing keys, from the cache unless it is stale or
// fresh is set. The keys returned are shared: never modify them.
func (s *Service) loadKeys(ctx context.Context, now time.Time, fresh bool) ([]*SigningKey, error) {
	keys, gen, ok := s.keys.get(now, s.cfg.KeyCacheTTL)
	if ok && !fresh {
		return keys, nil
	}
	keys, err := s.store.SigningKeys(ctx)
	if err != nil {
		return nil, storeError(err, "reading signing keys")
	}
	s.keys.set(keys, now, gen)
	return keys, nil
}

// currentKey returns the key that signs at now: of the keys in their
// signing period, the one activated last. Nil if there is none.
func currentKey(keys []*SigningKey, now time.Time) *SigningKey {
	var cur *SigningKey
	for _, k := range keys {
		if k.SignsAt(now) && (cur == nil || k.ActivateTime.After(cur.ActivateTime) ||
			(k.ActivateTime.Equal(cur.ActivateTime) && k.ID > cur.ID)) {
			cur = k
		}
	}
	return cur
}

// signingKey returns the key to sign with at now. Should no stored key be
// in its signing period (RotateKeys never ran, or the process slept through
// every key's period), it rotates the keys itself rather than fail logins.
func (s *Service) signingKey(ctx context.Context, now time.Time) (*SigningKey, error) {
	for attempt := range 3 {
		keys, err := s.loadKeys(ctx, now, attempt > 0)
		if err != nil {
			return nil, err
		}
		if k := currentKey(keys, now); k != nil {
			return k, nil
		}
		if attempt == 1 {
			if err := s.rotateKeys(ctx, now); err != nil {
				return nil, err
			}
		}
	}
	return nil, errs.New(errs.Internal, "", "no signing key after rotating the keys")
}

// PublicKeys returns the keys verifiers must accept now (the key set of
// GetJwks): the current key, the next one and retired keys whose tokens
// may still be valid, ordered by activation. The process itself builds its
// in-process key set from it.
func (s *Service) PublicKeys(ctx context.Context) ([]PublicKey, error) {
	now := s.now()
	keys, err := s.loadKeys(ctx, now, false)
	if err != nil {
		return nil, err
	}
	out := make([]PublicKey, 0, len(keys))
	for _, k := range keys {
		if k.PublishedAt(now) {
			out = append(out, k.Public())
		}
	}
	return out, nil
}

// JWKSCacheTTL is how long verifiers may cache the result of PublicKeys.
func (s *Service) JWKSCacheTTL() time.Duration { return s.cfg.JWKSCacheTTL }

// RotateKeys brings the signing keys up to date: it removes keys whose
// tokens have all expired, makes a key that signs now if there is none (a
// cold start: that key signs at once), and makes the next key if there is
// none, scheduled to activate when the current key retires but never
// sooner than PublishAhead from now (the current key then signs for
// longer). It is idempotent, safe to run from several processes at once,
// and cheap when nothing is due: call it at start and periodically (see
// RunMaintenance), more often than SigningPeriod - PublishAhead.
func (s *Service) RotateKeys(ctx context.Context) error {
	return s.rotateKeys(ctx, s.now())
}

func (s *Service) rotateKeys(ctx context.Context, now time.Time) error {
	err := s.store.UpdateSigningKeys(ctx, func(keys []*SigningKey) (KeyChange, error) {
		return s.planRotation(keys, now)
	})
	s.keys.invalidate()
	if err != nil {
		return storeError(err, "rotating signing keys")
	}
	return nil
}

func (s *Service) planRotation(keys []*SigningKey, now time.Time) (KeyChange, error) {
	var ch KeyChange
	live := make([]*SigningKey, 0, len(keys)+2)
	for _, k := range keys {
		if now.Before(k.ExpireTime) {
			live = append(live, k)
			continue
		}
		ch.Delete = append(ch.Delete, k.ID)
		ch.Events = append(ch.Events, signingKeyEvent(TopicSigningKeyRemoved, k))
	}
	cur := currentKey(live, now)
	if cur == nil {
		k, err := s.newSigningKey(now, now)
		if err != nil {
			return KeyChange{}, err
		}
		ch.Create = append(ch.Create, k)
		live = append(live, k)
		cur = k
	}
	hasNext := slices.ContainsFunc(live, func(k *SigningKey) bool { return k.ActivateTime.After(now) })
	if !hasNext {
		activate := cur.RetireTime
		if earliest := now.Add(s.cfg.PublishAhead); activate.Before(earliest) {
			// RotateKeys ran late: the next key must be published for
			// PublishAhead before it signs, so the current key signs until
			// then and its tokens stay verifiable that much longer.
			activate = earliest
			cur.RetireTime = earliest
			cur.ExpireTime = earliest.Add(s.cfg.tokenLifetime())
			if !slices.Contains(ch.Create, cur) {
				ch.Reschedule = append(ch.Reschedule, cur)
			}
		}
		k, err := s.newSigningKey(now, activate)
		if err != nil {
			return KeyChange{}, err
		}
		ch.Create = append(ch.Create, k)
	}
	for _, k := range ch.Create {
		ch.Events = append(ch.Events, signingKeyEvent(TopicSigningKeyPublished, k))
	}
	for _, k := range ch.Reschedule {
		ch.Events = append(ch.Events, signingKeyEvent(TopicSigningKeyRescheduled, k))
	}
	return ch, nil
}

// newSigningKey makes a key published at now that signs from activate for
// SigningPeriod.
func (s *Service) newSigningKey(now, activate time.Time) (*SigningKey, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := io.ReadFull(s.cfg.Random, seed); err != nil {
		return nil, fmt.Errorf("identity: signing key seed: %w", err)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub, _ := priv.Public().(ed25519.PublicKey)
	retire := activate.Add(s.cfg.SigningPeriod)
	return &SigningKey{
		ID:           KeyThumbprint(pub),
		Private:      priv,
		CreateTime:   now,
		ActivateTime: activate,
		RetireTime:   retire,
		ExpireTime:   retire.Add(s.cfg.tokenLifetime()),
	}, nil
}
