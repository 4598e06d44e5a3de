package auth

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	identityv1 "github.com/bazaarhq/bazaar/gen/bazaar/identity/v1"
)

// ClientCredentials are gRPC per-call credentials for a service calling
// other services on its own behalf with an OAuth2 client-credentials
// client (RFC 6749 section 4.4): it obtains an access token from the
// identity service's Token, sends it as "authorization: Bearer" on every
// call, and fetches a new one shortly before the old one expires. Callers
// waiting for a token share one Token call.
//
// With mTLS (`bazaar up --tls`) a service is already known by its
// certificate; client credentials are how it proves itself otherwise, and
// what grants it scopes ("inventory:reserve", "payments:write").
//
// Use it as grpc.WithPerRPCCredentials(creds) on the connections the
// service calls others with (grpcx.WithDialOptions).
type ClientCredentials struct {
	identity identityv1.IdentityServiceClient
	id       string
	secret   string
	scope    string
	now      func() time.Time
	// RequireTLS makes the credentials refuse plaintext connections. Off
	// by default, for the plaintext loopback of `bazaar up`; turn it on
	// for any network.
	requireTLS bool

	flight singleflight.Group
	mu     sync.Mutex
	token  string
	renew  time.Time // fetch a new token at or after this
}

// ClientCredentialsOption configures NewClientCredentials.
type ClientCredentialsOption func(*ClientCredentials)

// WithScope narrows the tokens to these space-separated scopes (default:
// every scope of the client).
func WithScope(scope string) ClientCredentialsOption {
	return func(c *ClientCredentials) { c.scope = scope }
}

// WithRequireTLS refuses to send the token over a connection without
// transport security.
func WithRequireTLS(on bool) ClientCredentialsOption {
	return func(c *ClientCredentials) { c.requireTLS = on }
}

// WithCredentialsClock sets the time source (tests).
func WithCredentialsClock(now func() time.Time) ClientCredentialsOption {
	return func(c *ClientCredentials) { c.now = now }
}

// NewClientCredentials returns credentials of client id with secret,
// whose tokens come from identity.
func NewClientCredentials(identity identityv1.IdentityServiceClient, id, secret string, opts ...ClientCredentialsOption) *ClientCredentials {
	c := &ClientCredentials{identity: identity, id: id, secret: secret, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	return c
}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (c *ClientCredentials) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	tok, err := c.Token(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]string{"authorization": "Bearer " + tok}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (c *ClientCredentials) RequireTransportSecurity() bool { return c.requireTLS }

// Token returns a valid access token, fetching one when there is none or
// the current one is near its expiry (the last tenth of its life, at least
// 10 seconds before it).
func (c *ClientCredentials) Token(ctx context.Context) (string, error) {
	c.mu.Lock()
	tok, renew := c.token, c.renew
	c.mu.Unlock()
	if tok != "" && c.now().Before(renew) {
		return tok, nil
	}
	// The fetch is shared and must not end with the first caller's
	// context: it runs with its own deadline.
	ch := c.flight.DoChan("token", func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), identityCallTimeout)
		defer cancel()
		resp, err := c.identity.Token(ctx, &identityv1.TokenRequest{
			GrantType: "client_credentials", ClientId: c.id, ClientSecret: c.secret, Scope: c.scope,
		})
		if err != nil {
			return "", fmt.Errorf("identity Token for client %s: %w", c.id, err)
		}
		life := time.Duration(resp.GetExpiresIn()) * time.Second
		early := max(life/10, 10*time.Second)
		c.mu.Lock()
		c.token, c.renew = resp.GetAccessToken(), c.now().Add(life-early)
		c.mu.Unlock()
		return resp.GetAccessToken(), nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", context.Cause(ctx)
	}
}
