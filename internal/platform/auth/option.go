package auth

import "time"

// AuthenticatorOption configures NewAuthenticator.
type AuthenticatorOption interface{ applyAuthenticator(*authenticatorConfig) }

// KeySetOption configures NewKeySet.
type KeySetOption interface{ applyKeySet(*keySetConfig) }

// Option configures both an Authenticator and a KeySet.
type Option interface {
	AuthenticatorOption
	KeySetOption
}

// DefaultTokenCacheSize is how many verified access tokens an Authenticator
// remembers.
const DefaultTokenCacheSize = 10_000

type authenticatorConfig struct {
	keys      *KeySet
	apiKeys   APIKeyVerifier
	peers     bool
	now       func() time.Time
	leeway    time.Duration
	issuer    string
	audience  string
	cacheSize int
}

func defaultAuthenticatorConfig() authenticatorConfig {
	return authenticatorConfig{
		now:       time.Now,
		leeway:    DefaultLeeway,
		issuer:    DefaultIssuer,
		audience:  DefaultAudience,
		cacheSize: DefaultTokenCacheSize,
	}
}

type authenticatorOptionFunc func(*authenticatorConfig)

func (f authenticatorOptionFunc) applyAuthenticator(c *authenticatorConfig) { f(c) }

// WithKeySet makes the Authenticator accept bearer access tokens verified
// with the keys of ks. Default none: a bearer token is answered
// UNAUTHENTICATED CREDENTIALS_UNSUPPORTED.
func WithKeySet(ks *KeySet) AuthenticatorOption {
	return authenticatorOptionFunc(func(c *authenticatorConfig) { c.keys = ks })
}

// WithAPIKeys makes the Authenticator accept "x-api-key" credentials,
// checked by v on every call. Default none: an API key is answered
// UNAUTHENTICATED CREDENTIALS_UNSUPPORTED.
func WithAPIKeys(v APIKeyVerifier) AuthenticatorOption {
	return authenticatorOptionFunc(func(c *authenticatorConfig) { c.apiKeys = v })
}

// WithPeerIdentities turns on service identities from verified mTLS client
// certificates (see PeerServiceIdentity). Default off: a server must opt in,
// and should only when its transport requires and verifies client
// certificates against the service CA.
func WithPeerIdentities(on bool) AuthenticatorOption {
	return authenticatorOptionFunc(func(c *authenticatorConfig) { c.peers = on })
}

// WithLeeway sets the clock skew tolerated on a token's exp, nbf and iat.
// Default DefaultLeeway (30 s). Negative values are treated as zero.
func WithLeeway(d time.Duration) AuthenticatorOption {
	return authenticatorOptionFunc(func(c *authenticatorConfig) { c.leeway = max(d, 0) })
}

// WithIssuer sets the iss every access token must carry. Default
// DefaultIssuer.
func WithIssuer(iss string) AuthenticatorOption {
	return authenticatorOptionFunc(func(c *authenticatorConfig) { c.issuer = iss })
}

// WithAudience sets the aud every access token must include. Default
// DefaultAudience.
func WithAudience(aud string) AuthenticatorOption {
	return authenticatorOptionFunc(func(c *authenticatorConfig) { c.audience = aud })
}

// WithTokenCacheSize bounds how many verified access tokens are remembered
// (see the Authenticator documentation); 0 turns the cache off. Default
// DefaultTokenCacheSize.
func WithTokenCacheSize(n int) AuthenticatorOption {
	return authenticatorOptionFunc(func(c *authenticatorConfig) { c.cacheSize = max(n, 0) })
}

type keySetConfig struct {
	now          func() time.Time
	minInterval  time.Duration
	fetchTimeout time.Duration
}

// DefaultMinRefetchInterval is the least time between two fetches of a key
// set.
const DefaultMinRefetchInterval = 30 * time.Second

// DefaultFetchTimeout bounds one fetch of a key set.
const DefaultFetchTimeout = 5 * time.Second

// DefaultKeySetTTL is how long a key set is fresh when its source names no
// lifetime.
const DefaultKeySetTTL = 5 * time.Minute

func defaultKeySetConfig() keySetConfig {
	return keySetConfig{now: time.Now, minInterval: DefaultMinRefetchInterval, fetchTimeout: DefaultFetchTimeout}
}

type keySetOptionFunc func(*keySetConfig)

func (f keySetOptionFunc) applyKeySet(c *keySetConfig) { f(c) }

// WithMinRefetchInterval sets the least time between two fetches of the key
// set, whatever asks for them (unknown key ids, an expired set). Default
// DefaultMinRefetchInterval (30 s).
func WithMinRefetchInterval(d time.Duration) KeySetOption {
	return keySetOptionFunc(func(c *keySetConfig) { c.minInterval = max(d, 0) })
}

// WithFetchTimeout bounds one fetch of the key set. Default
// DefaultFetchTimeout (5 s).
func WithFetchTimeout(d time.Duration) KeySetOption {
	return keySetOptionFunc(func(c *keySetConfig) {
		if d > 0 {
			c.fetchTimeout = d
		}
	})
}

// clockOption is WithClock: it configures both kinds of component.
type clockOption func() time.Time

func (o clockOption) applyAuthenticator(c *authenticatorConfig) { c.now = o }
func (o clockOption) applyKeySet(c *keySetConfig)               { c.now = o }

// WithClock sets the clock that judges token lifetimes (Authenticator) and
// key-set freshness (KeySet). Timers still run on real time: a call bounded
// by its token's expiry ends after the remaining lifetime as this clock
// measures it. Default time.Now.
func WithClock(now func() time.Time) Option {
	if now == nil {
		now = time.Now
	}
	return clockOption(now)
}
