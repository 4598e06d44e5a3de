package auth

import (
	"crypto/ed25519"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// tokenCache remembers access tokens that verified, so a client sending
// the same token call after call pays for one Ed25519 verification, not
// one per call. It is a bounded LRU keyed by the token itself: a hit needs
// the exact token, with no hash collision to reason about, and costs a
// map lookup (a SHA-256 of the token would cost more than the rest of a
// hit). Memory is bounded by size × maxTokenLen; Bazaar's tokens are under
// 500 bytes, so about 5 MB for the default 10,000 entries.
//
// Only successes are cached. An entry is used only while the token is
// within its exp (plus leeway) and while the key that verified it is still
// the key set's key for its kid. So the cache changes the cost of an
// answer, never the answer:
//   - key rotation does not invalidate a token: the identity service keeps
//     publishing a retired key while tokens it signed may be valid, and
//     such a token stays valid until its exp, cached or not;
//   - removing a key from the set (an emergency revocation) rejects its
//     tokens as soon as the verifier's key set is refreshed (its TTL, or
//     an unknown kid), cached or not;
//   - a revoked API key is never here: API keys are not cached at all.
type tokenCache struct {
	lru *lru.Cache[string, *verifiedToken]
}

// verifiedToken is what a verification established.
type verifiedToken struct {
	principal  *Principal
	kid        string
	key        ed25519.PublicKey
	validUntil time.Time // exp + leeway: the token verifies before it
}

// newTokenCache returns a cache of size entries, or nil for size 0.
func newTokenCache(size int) *tokenCache {
	if size <= 0 {
		return nil
	}
	c, err := lru.New[string, *verifiedToken](size)
	if err != nil { // only for size <= 0
		panic(err)
	}
	return &tokenCache{lru: c}
}

func (c *tokenCache) get(token string) (*verifiedToken, bool) { return c.lru.Get(token) }

func (c *tokenCache) add(token string, v *verifiedToken) { c.lru.Add(token, v) }

func (c *tokenCache) remove(token string) { c.lru.Remove(token) }

func (c *tokenCache) len() int { return c.lru.Len() }
