package auth

import (
	"context"
	"slices"
	"time"
)

// PrincipalKind says what kind of caller a Principal is.
type PrincipalKind uint8

// The kinds of caller.
const (
	// User is a person signed in with an access token from Login.
	User PrincipalKind = iota + 1
	// APIKey is a user's API key: it carries the key's scopes, never the
	// user's roles (a leaked key must not be an admin).
	APIKey
	// Client is an OAuth2 client-credentials client with its scopes.
	Client
	// Service is a Bazaar service identified by its mTLS certificate.
	Service
)

// String names the kind ("user", "api_key", "client", "service").
func (k PrincipalKind) String() string {
	switch k {
	case User:
		return "user"
	case APIKey:
		return "api_key"
	case Client:
		return "client"
	case Service:
		return "service"
	}
	return "unknown"
}

// Principal is an authenticated caller.
type Principal struct {
	Kind PrincipalKind
	// Subject is the user id (User, APIKey), the client id (Client) or the
	// service name (Service).
	Subject string
	// Roles of a User ("admin"). Empty for other kinds.
	Roles []string
	// Scopes of an APIKey or Client ("catalog:write").
	Scopes []string
	// APIKeyID is the key's id for an APIKey principal.
	APIKeyID string
	// Expiry is when the credential stops being valid; zero if it does not
	// expire (mTLS identities are re-checked at each handshake instead).
	// Streams end UNAUTHENTICATED when it passes.
	Expiry time.Time
}

// Key is a stable string identifying the principal for rate limiting and
// logs: "user:ID", "api_key:ID", "client:ID" or "service:NAME".
func (p *Principal) Key() string {
	if p.Kind == APIKey {
		return p.Kind.String() + ":" + p.APIKeyID
	}
	return p.Kind.String() + ":" + p.Subject
}

// Admits reports whether policy lets p call a method. A nil p is an
// anonymous caller, admitted only by public policies.
func (p *Principal) Admits(policy *Policy) bool {
	if policy.GetPublic() {
		return true
	}
	if p == nil {
		return false
	}
	if policy.GetAuthenticated() {
		return true
	}
	switch p.Kind {
	case User:
		return intersects(p.Roles, policy.GetRoles())
	case APIKey, Client:
		return intersects(p.Scopes, policy.GetScopes())
	case Service:
		return slices.Contains(policy.GetServices(), p.Subject)
	}
	return false
}

func intersects(have, want []string) bool {
	for _, w := range want {
		if slices.Contains(have, w) {
			return true
		}
	}
	return false
}

type principalKey struct{}

// WithPrincipal returns a copy of ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller authenticated for this call, or nil for
// an anonymous caller of a public method.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
