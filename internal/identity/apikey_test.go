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

func TestAPIKeyLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	ada, bob := e.register(t, "ada@example.com"), e.register(t, "bob@example.com")
	me := userPrincipal(ada)

	k1, secret1, err := e.svc.CreateAPIKey(ctx, me, identity.NewAPIKey{Name: " ci ", Scopes: []string{"order:read", "catalog:read"}})
	if err != nil {
		t.Fatalf("CreateAPIKey() = %v", err)
	}
	if !strings.HasPrefix(secret1, "bzk_") || len(secret1) != 47 || k1.Prefix != secret1[:12] {
		t.Errorf("secret %q with prefix %q, want bzk_ and 43 characters, prefix its first 12", secret1, k1.Prefix)
	}
	if k1.Name != "ci" || !slices.Equal(k1.Scopes, []string{"catalog:read", "order:read"}) || k1.UserID != ada.ID {
		t.Errorf("CreateAPIKey() = %+v", k1)
	}
	if strings.Contains(string(k1.Hash), secret1) || len(k1.Hash) != 32 {
		t.Errorf("the key stores %d bytes of hash, want a SHA-256", len(k1.Hash))
	}
	e.clock.Advance(time.Second)
	k2, secret2, err := e.svc.CreateAPIKey(ctx, me, identity.NewAPIKey{Name: "short-lived", ExpireTime: e.clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	bobKey, bobSecret, err := e.svc.CreateAPIKey(ctx, userPrincipal(bob), identity.NewAPIKey{Name: "bob"})
	if err != nil {
		t.Fatal(err)
	}

	p, err := e.svc.VerifyAPIKey(ctx, secret1)
	if err != nil || p.Kind != auth.APIKey || p.Subject != ada.ID || p.APIKeyID != k1.ID || !slices.Equal(p.Scopes, k1.Scopes) || len(p.Roles) != 0 {
		t.Fatalf("VerifyAPIKey() = %+v, %v; want an API key principal for key %s of %s, without roles", p, err, k1.ID, ada.ID)
	}
	if p2, err := e.svc.VerifyAPIKey(ctx, secret2); err != nil || !p2.Expiry.Equal(k2.ExpireTime) {
		t.Errorf("VerifyAPIKey(expiring key) = %+v, %v; want Expiry %v", p2, err, k2.ExpireTime)
	}
	list, err := e.svc.APIKeys(ctx, me)
	if err != nil || len(list) != 2 || list[0].ID != k2.ID || list[1].ID != k1.ID {
		t.Errorf("APIKeys() = %v, %v; want [k2 k1], newest first", list, err)
	}

	// Revocation is effective at once, and idempotent.
	revoked, err := e.svc.RevokeAPIKey(ctx, me, k1.ID)
	if err != nil || !revoked.RevokeTime.Equal(e.clock.Now()) {
		t.Fatalf("RevokeAPIKey() = %+v, %v", revoked, err)
	}
	_, err = e.svc.VerifyAPIKey(ctx, secret1)
	wantErr(t, "VerifyAPIKey(revoked)", err, codes.Unauthenticated, identity.ReasonAPIKeyInvalid)
	e.clock.Advance(time.Minute)
	if again, err := e.svc.RevokeAPIKey(ctx, me, k1.ID); err != nil || !again.RevokeTime.Equal(revoked.RevokeTime) {
		t.Errorf("RevokeAPIKey(again) = %+v, %v; want unchanged", again, err)
	}
	// Someone else's key, or none, is NOT_FOUND; the key keeps working.
	for name, id := range map[string]string{"bob's key": bobKey.ID, "unknown": "nope"} {
		_, err := e.svc.RevokeAPIKey(ctx, me, id)
		wantErr(t, "RevokeAPIKey("+name+")", err, codes.NotFound, identity.ReasonAPIKeyNotFound)
	}
	if _, err := e.svc.VerifyAPIKey(ctx, bobSecret); err != nil {
		t.Errorf("VerifyAPIKey(bob) = %v after ada tried to revoke it", err)
	}

	// Expiry.
	if _, err := e.svc.VerifyAPIKey(ctx, secret2); err != nil {
		t.Errorf("VerifyAPIKey(before expiry) = %v", err)
	}
	e.clock.Advance(time.Hour)
	_, err = e.svc.VerifyAPIKey(ctx, secret2)
	wantErr(t, "VerifyAPIKey(expired)", err, codes.Unauthenticated, identity.ReasonAPIKeyInvalid)

	for name, s := range map[string]string{"unknown": "bzk_" + strings.Repeat("Q", 43), "malformed": "bzk_short", "refresh token": "bzr_" + secret1[4:], "empty": ""} {
		_, err := e.svc.VerifyAPIKey(ctx, s)
		wantErr(t, "VerifyAPIKey("+name+")", err, codes.Unauthenticated, identity.ReasonAPIKeyInvalid)
	}
	want := []string{
		identity.TopicUserRegistered, identity.TopicUserRegistered,
		identity.TopicAPIKeyCreated, identity.TopicAPIKeyCreated, identity.TopicAPIKeyCreated,
		identity.TopicAPIKeyRevoked,
	}
	if got := e.topics(t); !slices.Equal(got, want) {
		t.Errorf("outbox = %v, want %v", got, want)
	}
}

func TestCreateAPIKeyRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	customer := e.register(t, "ada@example.com")
	admin := e.register(t, "root@example.com")
	if _, err := e.svc.SetUserRoles(ctx, admin.ID, []string{identity.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	past := e.clock.Now().Add(-time.Second)
	for _, tc := range []struct {
		name   string
		p      *auth.Principal
		req    identity.NewAPIKey
		code   codes.Code
		reason string
	}{
		{"with an API key", &auth.Principal{Kind: auth.APIKey, Subject: customer.ID, APIKeyID: "k"}, identity.NewAPIKey{Name: "x"}, codes.PermissionDenied, identity.ReasonSignInRequired},
		{"as a client", &auth.Principal{Kind: auth.Client, Subject: "cl_x"}, identity.NewAPIKey{Name: "x"}, codes.PermissionDenied, identity.ReasonUserRequired},
		{"admin scope as a customer", userPrincipal(customer), identity.NewAPIKey{Name: "x", Scopes: []string{"identity:admin"}}, codes.PermissionDenied, identity.ReasonScopeNotGrantable},
		{"blank name", userPrincipal(customer), identity.NewAPIKey{Name: "  "}, codes.InvalidArgument, identity.ReasonNameInvalid},
		{"bad scope", userPrincipal(customer), identity.NewAPIKey{Name: "x", Scopes: []string{"catalog"}}, codes.InvalidArgument, identity.ReasonScopesInvalid},
		{"duplicate scope", userPrincipal(customer), identity.NewAPIKey{Name: "x", Scopes: []string{"a:b", "a:b"}}, codes.InvalidArgument, identity.ReasonScopesInvalid},
		{"expired already", userPrincipal(customer), identity.NewAPIKey{Name: "x", ExpireTime: past}, codes.InvalidArgument, identity.ReasonExpireTimeInvalid},
	} {
		_, _, err := e.svc.CreateAPIKey(ctx, tc.p, tc.req)
		wantErr(t, "CreateAPIKey("+tc.name+")", err, tc.code, tc.reason)
	}
	// The stored roles count, not the token's: a demoted admin's old token
	// cannot mint an admin key.
	stale := &auth.Principal{Kind: auth.User, Subject: customer.ID, Roles: []string{identity.RoleAdmin}}
	_, _, err := e.svc.CreateAPIKey(ctx, stale, identity.NewAPIKey{Name: "x", Scopes: []string{"identity:admin"}})
	wantErr(t, "CreateAPIKey(stale admin token)", err, codes.PermissionDenied, identity.ReasonScopeNotGrantable)
	if _, _, err := e.svc.CreateAPIKey(ctx, userPrincipal(admin), identity.NewAPIKey{Name: "ops", Scopes: []string{"identity:admin"}}); err != nil {
		t.Errorf("CreateAPIKey(admin scope as an admin) = %v", err)
	}
}
