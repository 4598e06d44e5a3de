package identity

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
)

// The defaults of Config.
const (
	// DefaultAccessTokenTTL is the lifetime of an access token.
	DefaultAccessTokenTTL = 15 * time.Minute
	// DefaultRefreshTokenTTL is the lifetime of a refresh token (and so of
	// an idle session).
	DefaultRefreshTokenTTL = 30 * 24 * time.Hour
	// DefaultSigningPeriod is how long one key signs.
	DefaultSigningPeriod = 24 * time.Hour
	// DefaultPublishAhead is the least time a key is published before it
	// signs.
	DefaultPublishAhead = time.Hour
	// DefaultJWKSCacheTTL is how long verifiers may cache the key set.
	DefaultJWKSCacheTTL = 5 * time.Minute
	// DefaultKeyCacheTTL is how long the service trusts its in-memory copy
	// of the signing keys before reading them again.
	DefaultKeyCacheTTL = time.Minute
	// DefaultMaintenanceInterval is a sensible period for RunMaintenance.
	DefaultMaintenanceInterval = 10 * time.Minute
)

// Config configures a Service. The zero value of every field means its
// default, so Config{} is the production configuration.
type Config struct {
	// Issuer is the iss of the access tokens. Default auth.DefaultIssuer.
	Issuer string
	// Audience is the aud of the access tokens. Default
	// auth.DefaultAudience.
	Audience string
	// AccessTokenTTL is the lifetime of access tokens (users' and
	// clients'). Default DefaultAccessTokenTTL (15 min).
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is the lifetime of a refresh token; each refresh
	// starts a new one, so it is how long a session may sit idle. Default
	// DefaultRefreshTokenTTL (30 days).
	RefreshTokenTTL time.Duration
	// Leeway is the clock skew verifiers tolerate (see auth.TokenParser); a
	// retired key stays published for AccessTokenTTL + Leeway. Default
	// auth.DefaultLeeway (30 s).
	Leeway time.Duration
	// SigningPeriod is how long each key signs. Default
	// DefaultSigningPeriod (24 h).
	SigningPeriod time.Duration
	// PublishAhead is the least time a key is published before it signs.
	// It must be at least JWKSCacheTTL. Default DefaultPublishAhead (1 h).
	PublishAhead time.Duration
	// JWKSCacheTTL is how long verifiers may cache the key set (GetJwks
	// cache_seconds). Default DefaultJWKSCacheTTL (5 min).
	JWKSCacheTTL time.Duration
	// KeyCacheTTL is how long the service uses its in-memory copy of the
	// signing keys before reading them again (keys created by other
	// replicas become visible within it). It must be less than
	// PublishAhead. Default DefaultKeyCacheTTL (1 min).
	KeyCacheTTL time.Duration
	// Argon2 are the parameters new password hashes get. Default
	// DefaultArgon2Params.
	Argon2 Argon2Params
	// CanGrantScope decides whether a user holding roles may put scope on
	// an API key. Default DefaultCanGrantScope.
	CanGrantScope func(roles []string, scope string) bool
	// Clock is the time source. Default time.Now.
	Clock func() time.Time
	// Random is the source of every secret, salt, key and id. Default
	// crypto/rand.Reader; tests may inject a failing reader. (Ed25519 key
	// generation reads from it too, as a seed.)
	Random io.Reader
	// Logger receives warnings about work that failed without failing the
	// call (a re-hash, a maintenance run). Default: discard.
	Logger *slog.Logger
}

// DefaultCanGrantScope lets any user grant any scope except those whose
// action is "admin" ("identity:admin"), which need the admin role. Method
// policies admit API keys by scope, so a customer's key must not carry a
// scope that opens an administrator's method.
func DefaultCanGrantScope(roles []string, scope string) bool {
	if strings.HasSuffix(scope, ":admin") {
		return hasRole(roles, RoleAdmin)
	}
	return true
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.Issuer == "" {
		c.Issuer = auth.DefaultIssuer
	}
	if c.Audience == "" {
		c.Audience = auth.DefaultAudience
	}
	def(&c.AccessTokenTTL, DefaultAccessTokenTTL)
	def(&c.RefreshTokenTTL, DefaultRefreshTokenTTL)
	def(&c.Leeway, auth.DefaultLeeway)
	def(&c.SigningPeriod, DefaultSigningPeriod)
	def(&c.PublishAhead, DefaultPublishAhead)
	def(&c.JWKSCacheTTL, DefaultJWKSCacheTTL)
	def(&c.KeyCacheTTL, DefaultKeyCacheTTL)
	if c.Argon2 == (Argon2Params{}) {
		c.Argon2 = DefaultArgon2Params
	}
	if c.CanGrantScope == nil {
		c.CanGrantScope = DefaultCanGrantScope
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Random == nil {
		c.Random = rand.Reader
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) validate() error {
	var problems []error
	positive := func(name string, d time.Duration) {
		if d < 0 {
			problems = append(problems, fmt.Errorf("%s %v: want > 0", name, d))
		}
	}
	positive("AccessTokenTTL", c.AccessTokenTTL)
	positive("RefreshTokenTTL", c.RefreshTokenTTL)
	positive("Leeway", c.Leeway)
	positive("SigningPeriod", c.SigningPeriod)
	positive("PublishAhead", c.PublishAhead)
	positive("JWKSCacheTTL", c.JWKSCacheTTL)
	positive("KeyCacheTTL", c.KeyCacheTTL)
	if c.RefreshTokenTTL <= c.AccessTokenTTL {
		problems = append(problems, fmt.Errorf("RefreshTokenTTL %v: want more than AccessTokenTTL %v", c.RefreshTokenTTL, c.AccessTokenTTL))
	}
	// A verifier that cached the key set just before a key was published
	// must refetch it before the key signs.
	if c.PublishAhead < c.JWKSCacheTTL {
		problems = append(problems, fmt.Errorf("PublishAhead %v: want at least JWKSCacheTTL %v", c.PublishAhead, c.JWKSCacheTTL))
	}
	// Another replica's new key must reach this one's cache before it signs.
	if c.KeyCacheTTL >= c.PublishAhead {
		problems = append(problems, fmt.Errorf("KeyCacheTTL %v: want less than PublishAhead %v", c.KeyCacheTTL, c.PublishAhead))
	}
	if c.JWKSCacheTTL < time.Second || c.JWKSCacheTTL > 24*time.Hour {
		problems = append(problems, fmt.Errorf("JWKSCacheTTL %v: want between 1s and 24h", c.JWKSCacheTTL))
	}
	if err := c.Argon2.validate(); err != nil {
		problems = append(problems, err)
	}
	if err := errors.Join(problems...); err != nil {
		return fmt.Errorf("identity: invalid config: %w", err)
	}
	return nil
}

// tokenLifetime is how long after its issue a token may still be accepted:
// its TTL plus the verifiers' leeway.
func (c Config) tokenLifetime() time.Duration { return c.AccessTokenTTL + c.Leeway }
