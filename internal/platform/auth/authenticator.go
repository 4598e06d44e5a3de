package auth

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// The metadata keys that carry credentials.
const (
	// AuthorizationHeader carries "Bearer <access token>".
	AuthorizationHeader = "authorization"
	// APIKeyHeader carries an API key's secret.
	APIKeyHeader = "x-api-key"
)

// maxTokenLen bounds a bearer token; Bazaar's access tokens are well under
// a kilobyte.
const maxTokenLen = 4096

// errMalformedBearer answers an authorization header that is not a bearer
// token.
var errMalformedBearer = errs.New(errs.Unauthenticated, ReasonCredentialsMalformed,
	`the authorization header must be "Bearer <access token>"`)

// errTokenExpiredDuringCall is the cause of a call's end when its
// credential (an access token, or an API key with an expiry) expires while
// it runs (see Authenticator).
var errTokenExpiredDuringCall = errs.New(errs.Unauthenticated, ReasonTokenExpired,
	"the credential expired during the call; renew it and call again")

// Authenticator is the Authorizer of a server that accepts credentials. On
// each call it finds out who the caller is (Authenticate), then checks the
// method's policy (Principal.Admits). Anything not admitted is refused:
//   - no credential on a method that is not public: UNAUTHENTICATED
//     ReasonCredentialsRequired;
//   - an invalid credential: UNAUTHENTICATED with the credential's own
//     reason, even on a public method (a bad credential is never silently
//     ignored), or UNAVAILABLE when it cannot be checked now;
//   - a valid credential the policy does not admit: PERMISSION_DENIED
//     ReasonPolicyDenied, with the method in the ErrorInfo metadata.
//
// An admitted call's context carries the principal (PrincipalFrom). When
// the credential expires (Principal.Expiry is set), the context also ends
// at its expiry plus the leeway, with an UNAUTHENTICATED ReasonTokenExpired
// cause, which the grpcx server answers: a long stream ends when its token
// does.
//
// Verified access tokens are cached (see WithTokenCacheSize); principals
// from the cache are shared between calls, so handlers must treat a
// Principal as read-only.
//
// An Authenticator is safe for concurrent use.
type Authenticator struct {
	cfg    authenticatorConfig
	parser *TokenParser
	cache  *tokenCache // nil when caching is off
}

// NewAuthenticator returns an Authenticator configured by opts. With no
// options it accepts no credential at all (like PublicOnly); add
// WithKeySet, WithAPIKeys and WithPeerIdentities for what the server
// accepts.
func NewAuthenticator(opts ...AuthenticatorOption) *Authenticator {
	cfg := defaultAuthenticatorConfig()
	for _, o := range opts {
		o.applyAuthenticator(&cfg)
	}
	return &Authenticator{
		cfg:    cfg,
		parser: NewTokenParser(cfg.issuer, cfg.audience, cfg.leeway, cfg.now),
		cache:  newTokenCache(cfg.cacheSize),
	}
}

// Authorize implements Authorizer.
func (a *Authenticator) Authorize(ctx context.Context, method string, policy *Policy) (context.Context, error) {
	p, err := a.Authenticate(ctx)
	if err != nil {
		return ctx, err
	}
	if !p.Admits(policy) {
		if p == nil {
			return ctx, errs.New(errs.Unauthenticated, ReasonCredentialsRequired,
				"this method requires credentials", errs.WithMetadata("method", method))
		}
		return ctx, errs.New(errs.PermissionDenied, ReasonPolicyDenied,
			"the caller is not allowed to call this method", errs.WithMetadata("method", method))
	}
	if p == nil {
		return ctx, nil
	}
	ctx = WithPrincipal(ctx, p)
	if !p.Expiry.IsZero() {
		ctx = a.boundByExpiry(ctx, p.Expiry)
	}
	return ctx, nil
}

// boundByExpiry ends ctx when the credential expiring at expiry stops
// verifying: at expiry + leeway by the Authenticator's clock, which is
// that much time from now in real time. A call whose own deadline comes
// first (most unary calls) needs nothing more.
func (a *Authenticator) boundByExpiry(ctx context.Context, expiry time.Time) context.Context {
	remaining := expiry.Add(a.cfg.leeway).Sub(a.cfg.now())
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= remaining {
		return ctx
	}
	ctx, cancel := context.WithTimeoutCause(ctx, remaining, errTokenExpiredDuringCall)
	// The timer is released as soon as ctx ends, at expiry or with the call
	// (gRPC cancels every call's context when it finishes); cancel is called
	// then, as the context contract asks.
	context.AfterFunc(ctx, cancel)
	return ctx
}

// Authenticate returns the caller of the call on ctx, or nil for an
// anonymous caller. A bearer token or an API key, when present, decides
// (a service forwarding a user's token acts for that user); otherwise the
// verified mTLS identity, when enabled; otherwise nobody. The error is an
// *errs.Error, UNAUTHENTICATED for a credential that is malformed,
// ambiguous, unsupported or invalid, UNAVAILABLE when it cannot be checked
// now; or ctx's error if the caller went away meanwhile.
func (a *Authenticator) Authenticate(ctx context.Context) (*Principal, error) {
	authz := metadata.ValueFromIncomingContext(ctx, AuthorizationHeader)
	keys := metadata.ValueFromIncomingContext(ctx, APIKeyHeader)
	switch {
	case len(authz)+len(keys) > 1:
		return nil, errs.New(errs.Unauthenticated, ReasonCredentialsAmbiguous,
			"send exactly one credential: one bearer token or one API key")
	case len(authz) == 1:
		return a.verifyBearer(ctx, authz[0])
	case len(keys) == 1:
		return a.verifyAPIKey(ctx, keys[0])
	case a.cfg.peers:
		if name, ok := PeerServiceIdentity(ctx); ok {
			return &Principal{Kind: Service, Subject: name}, nil
		}
	}
	return nil, nil
}

// isToken68 reports whether s is an RFC 7235 token68: 1*( ALPHA / DIGIT /
// "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isToken68(s string) bool {
	if len(s) == 0 || len(s) > maxTokenLen {
		return false
	}
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := range len(body) {
		if !token68Chars[body[i]] {
			return false
		}
	}
	return true
}

// token68Chars marks the characters of a token68 before its padding.
var token68Chars = func() (t [256]bool) {
	for c := range t {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", byte(c)) >= 0
	}
	return t
}()

// verifyBearer checks an authorization header: RFC 6750 "Bearer <token>",
// the scheme in any case, one space, a token68 of at most maxTokenLen.
func (a *Authenticator) verifyBearer(ctx context.Context, header string) (*Principal, error) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || len(token) > maxTokenLen {
		return nil, errMalformedBearer
	}
	if a.cfg.keys == nil {
		return nil, errs.New(errs.Unauthenticated, ReasonCredentialsUnsupported,
			"this server does not accept bearer tokens")
	}
	if a.cache != nil {
		if v, ok := a.cache.get(token); ok {
			if a.stillValid(ctx, v) {
				return v.principal, nil // it was a well-formed token when cached
			}
			a.cache.remove(token) // verify afresh: the answer says why not
		}
	}
	if !isToken68(token) {
		return nil, errMalformedBearer
	}
	var (
		kid string
		key ed25519.PublicKey
	)
	claims, err := a.parser.Parse(token, func(k string) (ed25519.PublicKey, error) {
		pub, err := a.cfg.keys.LookupContext(ctx, k)
		kid, key = k, pub
		return pub, err
	})
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(err, ErrKeySetUnavailable):
		return nil, errs.Wrap(err, errs.Unavailable, ReasonKeySetUnavailable,
			"the access token cannot be checked now; retry")
	default:
		return nil, err
	}
	p := claims.Principal()
	if a.cache != nil {
		a.cache.add(token, &verifiedToken{principal: p, kid: kid, key: key, validUntil: claims.ExpiresAt.Add(a.cfg.leeway)})
	}
	return p, nil
}

// stillValid reports whether a cached verification still holds: the token
// is within its exp (plus leeway) and its kid still names the same key.
func (a *Authenticator) stillValid(ctx context.Context, v *verifiedToken) bool {
	if !a.cfg.now().Before(v.validUntil) {
		return false
	}
	key, err := a.cfg.keys.LookupContext(ctx, v.kid)
	return err == nil && bytes.Equal(key, v.key)
}

func (a *Authenticator) verifyAPIKey(ctx context.Context, secret string) (*Principal, error) {
	if a.cfg.apiKeys == nil {
		return nil, errs.New(errs.Unauthenticated, ReasonCredentialsUnsupported,
			"this server does not accept API keys")
	}
	if !wellFormedAPIKey(secret) {
		return nil, errs.New(errs.Unauthenticated, ReasonCredentialsMalformed,
			"the x-api-key header is not an API key")
	}
	p, err := a.cfg.apiKeys.VerifyAPIKey(ctx, secret)
	if err != nil {
		return nil, err
	}
	if p == nil || p.Kind != APIKey || len(p.Roles) > 0 {
		// A key must never carry more than its scopes.
		return nil, errs.New(errs.Internal, "API_KEY_VERIFIER", "the API key verifier answered a principal that is not an API key")
	}
	return p, nil
}
