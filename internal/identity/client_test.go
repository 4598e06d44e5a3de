package identity_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/bazaarhq/bazaar/internal/identity"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
)

func TestClientCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	c, secret, err := e.svc.CreateClient(ctx, "warehouse", []string{"order:read", "catalog:write"})
	if err != nil {
		t.Fatalf("CreateClient() = %v", err)
	}
	if !strings.HasPrefix(c.ID, "cl_") || !strings.HasPrefix(secret, "bzc_") || !slices.Equal(c.Scopes, []string{"catalog:write", "order:read"}) {
		t.Errorf("CreateClient() = %+v, secret %q", c, secret)
	}

	tok, err := e.svc.ClientToken(ctx, c.ID, secret, "")
	if err != nil {
		t.Fatalf("ClientToken() = %v", err)
	}
	if tok.ExpiresIn != identity.DefaultAccessTokenTTL || !slices.Equal(tok.Scopes, c.Scopes) {
		t.Errorf("ClientToken() = expires in %v, scopes %v; want %v, all the client's", tok.ExpiresIn, tok.Scopes, identity.DefaultAccessTokenTTL)
	}
	claims := e.mustParse(t, tok.AccessToken)
	p := claims.Principal()
	if claims.Kind != "client" || p.Kind != auth.Client || p.Subject != c.ID || !slices.Equal(p.Scopes, c.Scopes) || len(p.Roles) != 0 {
		t.Errorf("token principal = %+v (kind %q), want client %s with %v", p, claims.Kind, c.ID, c.Scopes)
	}
	if !claims.ExpiresAt.Equal(tok.ExpireTime) {
		t.Errorf("exp %v, reported %v", claims.ExpiresAt, tok.ExpireTime)
	}

	// Narrowing to a subset (order and duplicates do not matter).
	narrow, err := e.svc.ClientToken(ctx, c.ID, secret, " order:read  order:read ")
	if err != nil || !slices.Equal(narrow.Scopes, []string{"order:read"}) {
		t.Fatalf("ClientToken(narrowed) = %+v, %v; want [order:read]", narrow, err)
	}
	if got := e.mustParse(t, narrow.AccessToken).Scope; got != "order:read" {
		t.Errorf("narrowed token scope = %q, want order:read", got)
	}
	_, err = e.svc.ClientToken(ctx, c.ID, secret, "order:read identity:admin")
	wantErr(t, "ClientToken(scope not held)", err, codes.InvalidArgument, identity.ReasonInvalidScope, "scope")

	// A wrong secret and an unknown client are the same answer; the scope
	// is not looked at before the client is authenticated.
	for name, call := range map[string][3]string{
		"wrong secret":            {c.ID, "bzc_" + strings.Repeat("x", 43), ""},
		"wrong secret, bad scope": {c.ID, secret[:len(secret)-1] + "A", "identity:admin"},
		"unknown client":          {"cl_000000000000000000000000", secret, ""},
		"empty":                   {"", "", ""},
	} {
		_, err := e.svc.ClientToken(ctx, call[0], call[1], call[2])
		wantErr(t, "ClientToken("+name+")", err, codes.Unauthenticated, identity.ReasonInvalidClient)
	}

	// Tokens expire after the TTL.
	e.clock.Advance(identity.DefaultAccessTokenTTL + auth.DefaultLeeway + time.Second)
	if _, err := e.parse(t, tok.AccessToken); err == nil {
		t.Errorf("a client token verified after its expiry")
	}
	if got := e.topics(t); !slices.Contains(got, identity.TopicClientCreated) {
		t.Errorf("outbox = %v, want a %s event", got, identity.TopicClientCreated)
	}
}

func TestCreateClientValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for name, tc := range map[string]struct {
		name   string
		scopes []string
		reason string
	}{
		"no scopes":  {"x", nil, identity.ReasonScopesInvalid},
		"bad scope":  {"x", []string{"Catalog:Read"}, identity.ReasonScopesInvalid},
		"blank name": {" ", []string{"a:b"}, identity.ReasonNameInvalid},
	} {
		_, _, err := e.svc.CreateClient(t.Context(), tc.name, tc.scopes)
		wantErr(t, "CreateClient("+name+")", err, codes.InvalidArgument, tc.reason)
	}
}
