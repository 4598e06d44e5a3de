package auth

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// Access tokens are JWTs (RFC 9068 profile) signed with Ed25519 (EdDSA):
// header {alg: EdDSA, typ: at+jwt, kid}, claims iss, aud, sub, exp, iat,
// jti, typ ("access"), kind ("user" or "client"), roles (users) and scope
// (clients, space-separated). Refresh tokens and API keys are opaque random
// secrets, never JWTs, so neither can pass for an access token.
const (
	// TokenHeaderType is the JOSE header typ of an access token.
	TokenHeaderType = "at+jwt"
	// TokenTypeAccess is the typ claim of an access token.
	TokenTypeAccess = "access"
	// DefaultIssuer is the iss of tokens signed by the identity service.
	DefaultIssuer = "https://identity.bazaar.dev"
	// DefaultAudience is the aud every Bazaar service accepts.
	DefaultAudience = "bazaar"
	// DefaultLeeway is the clock skew tolerated on exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
)

// AccessClaims are the claims of an access token.
type AccessClaims struct {
	jwt.RegisteredClaims
	// Type is always TokenTypeAccess.
	Type string `json:"typ"`
	// Kind is "user" or "client".
	Kind string `json:"kind"`
	// Roles of a user.
	Roles []string `json:"roles,omitempty"`
	// Scope of a client: space-separated scopes.
	Scope string `json:"scope,omitempty"`
}

// Principal returns the caller the claims describe.
func (c *AccessClaims) Principal() *Principal {
	p := &Principal{Subject: c.Subject, Roles: c.Roles}
	if c.ExpiresAt != nil {
		p.Expiry = c.ExpiresAt.Time
	}
	if c.Kind == Client.String() {
		p.Kind = Client
		p.Roles = nil
		p.Scopes = strings.Fields(c.Scope)
	} else {
		p.Kind = User
	}
	return p
}

// SigningKey is an Ed25519 private key and its key id.
type SigningKey struct {
	ID      string
	Private ed25519.PrivateKey
}

// SignAccessToken signs c with key. c must have an issuer, an audience, a
// subject, an expiry and an issue time; its Type is set to access.
func SignAccessToken(key SigningKey, c AccessClaims) (string, error) {
	switch {
	case key.ID == "" || len(key.Private) != ed25519.PrivateKeySize:
		return "", errors.New("auth: signing key needs an id and an Ed25519 private key")
	case c.Issuer == "" || len(c.Audience) == 0 || c.Subject == "" || c.ExpiresAt == nil || c.IssuedAt == nil:
		return "", errors.New("auth: access token needs iss, aud, sub, exp and iat")
	case c.Kind != User.String() && c.Kind != Client.String():
		return "", fmt.Errorf("auth: access token kind %q (want user or client)", c.Kind)
	}
	c.Type = TokenTypeAccess
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, &c)
	t.Header["kid"] = key.ID
	t.Header["typ"] = TokenHeaderType
	s, err := t.SignedString(key.Private)
	if err != nil {
		return "", fmt.Errorf("auth: sign access token: %w", err)
	}
	return s, nil
}

// KeyLookup returns the public key with the given id, or an error if the
// key set has none (ErrUnknownKey, possibly after refreshing the set).
type KeyLookup func(kid string) (ed25519.PublicKey, error)

// ErrUnknownKey is returned by a KeyLookup for a kid outside the key set.
var ErrUnknownKey = errors.New("unknown signing key")

// TokenParser verifies access tokens: the algorithm is pinned to EdDSA,
// the key id only indexes the verifier's key set, exp is required, and iss,
// aud and typ must match, all with a small leeway for clock skew.
type TokenParser struct {
	parser *jwt.Parser
}

// NewTokenParser returns a parser accepting tokens of issuer for audience.
// now is the clock (time.Now when nil); leeway the tolerated skew.
func NewTokenParser(issuer, audience string, leeway time.Duration, now func() time.Time) *TokenParser {
	if now == nil {
		now = time.Now
	}
	return &TokenParser{parser: jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(now),
		jwt.WithStrictDecoding(),
	)}
}

// Parse verifies token and returns its claims. Every failure is an
// Unauthenticated *errs.Error: reason TOKEN_EXPIRED for an expired token,
// UNKNOWN_SIGNING_KEY for a kid outside the key set, TOKEN_INVALID for
// anything else (malformed, wrong algorithm, bad signature, wrong iss, aud
// or typ, not yet valid).
func (p *TokenParser) Parse(token string, keys KeyLookup) (*AccessClaims, error) {
	var claims AccessClaims
	_, err := p.parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); typ != TokenHeaderType {
			return nil, fmt.Errorf("header typ %q is not %s", typ, TokenHeaderType)
		}
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("no kid in header")
		}
		return keys(kid)
	})
	switch {
	case err == nil && claims.Type != TokenTypeAccess:
		err = fmt.Errorf("typ claim %q is not %s", claims.Type, TokenTypeAccess)
	case err == nil && claims.Kind != User.String() && claims.Kind != Client.String():
		err = fmt.Errorf("kind claim %q", claims.Kind)
	}
	if err == nil {
		return &claims, nil
	}
	reason := "TOKEN_INVALID"
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		reason = "TOKEN_EXPIRED"
	case errors.Is(err, ErrUnknownKey):
		reason = "UNKNOWN_SIGNING_KEY"
	}
	return nil, errs.Wrap(err, errs.Unauthenticated, reason, "the access token is not valid")
}
