package auth_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	identityv1 "github.com/bazaarhq/bazaar/gen/bazaar/identity/v1"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// apiKeyStack is an application server that accepts API keys checked by
// an identity service over gRPC, as deployed.
type apiKeyStack struct {
	identity *fakeIdentity
	app      identityv1.IdentityServiceClient
}

func newAPIKeyStack(t *testing.T) *apiKeyStack {
	t.Helper()
	s := &apiKeyStack{identity: newFakeIdentity()}
	identityClient := serveIdentity(t, s.identity, nil)
	a := auth.NewAuthenticator(auth.WithAPIKeys(auth.IdentityAPIKeys(identityClient)))
	s.app = serveIdentity(t, newFakeIdentity(), nil, grpcx.WithAuthorizer(a))
	return s
}

func withAPIKey(ctx context.Context, secret string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "x-api-key", secret)
}

// TestRevokedAPIKey: a revoked key is refused on the very next call.
func TestRevokedAPIKey(t *testing.T) {
	t.Parallel()
	s := newAPIKeyStack(t)
	s.identity.addAPIKey("bzk_live_secret", "key-1", "u1", "catalog:read")
	ctx := withAPIKey(t.Context(), "bzk_live_secret")
	resp, err := s.app.GetMe(ctx, &identityv1.GetMeRequest{})
	if err != nil {
		t.Fatalf("GetMe(valid key) = %v", err)
	}
	if got := resp.GetUser().GetDisplayName(); got != "api_key:key-1" || resp.GetUser().GetId() != "u1" {
		t.Errorf("GetMe(valid key) principal = %q (user %q), want api_key:key-1 (u1)", got, resp.GetUser().GetId())
	}
	s.identity.revoke("key-1")
	_, err = s.app.GetMe(ctx, &identityv1.GetMeRequest{})
	wantCode(t, "GetMe(revoked key)", err, codes.Unauthenticated, "API_KEY_INVALID")
	_, err = s.app.GetJwks(ctx, &identityv1.GetJwksRequest{})
	wantCode(t, "GetJwks(revoked key)", err, codes.Unauthenticated, "API_KEY_INVALID")
	if n := s.identity.verifications(); n != 3 {
		t.Errorf("identity verified %d times, want 3 (every call, no cache)", n)
	}
}

// TestAPIKeyScopes: an API key is admitted by its scopes, never by its
// owner's roles.
func TestAPIKeyScopes(t *testing.T) {
	t.Parallel()
	s := newAPIKeyStack(t)
	s.identity.addAPIKey("admin-scope", "key-1", "u1", "identity:admin")
	s.identity.addAPIKey("read-scope", "key-2", "u1", "catalog:read")
	s.identity.addAPIKey("no-scope", "key-3", "admin-user")
	for _, tc := range []struct {
		secret string
		call   func(ctx context.Context) error
		name   string
		code   codes.Code
		reason string
	}{
		{"admin-scope", s.listUsers, "ListUsers", codes.OK, ""},
		{"read-scope", s.listUsers, "ListUsers", codes.PermissionDenied, "POLICY_DENIED"},
		{"no-scope", s.listUsers, "ListUsers", codes.PermissionDenied, "POLICY_DENIED"},
		{"read-scope", s.getMe, "GetMe", codes.OK, ""},
		{"no-scope", s.getMe, "GetMe", codes.OK, ""},
		{"unknown", s.getMe, "GetMe", codes.Unauthenticated, "API_KEY_INVALID"},
	} {
		err := tc.call(withAPIKey(t.Context(), tc.secret))
		wantCode(t, tc.name+"(key "+tc.secret+")", err, tc.code, tc.reason)
	}
}

func (s *apiKeyStack) listUsers(ctx context.Context) error {
	_, err := s.app.ListUsers(ctx, &identityv1.ListUsersRequest{})
	return err
}

func (s *apiKeyStack) getMe(ctx context.Context) error {
	_, err := s.app.GetMe(ctx, &identityv1.GetMeRequest{})
	return err
}

// TestIdentityAPIKeysUnavailable: when identity cannot answer, the call is
// UNAVAILABLE (clients retry), never admitted and never a verdict on the
// key.
func TestIdentityAPIKeysUnavailable(t *testing.T) {
	t.Parallel()
	s := newAPIKeyStack(t)
	s.identity.addAPIKey("k", "key-1", "u1")
	s.identity.setDown(true)
	err := s.getMe(withAPIKey(t.Context(), "k"))
	wantCode(t, "GetMe(identity down)", err, codes.Unavailable, "API_KEY_VERIFIER_UNAVAILABLE")
	s.identity.setDown(false)
	if err := s.getMe(withAPIKey(t.Context(), "k")); err != nil {
		t.Errorf("GetMe(identity back) = %v, want nil", err)
	}
}

// TestIdentityAPIKeys checks the adapter's answers directly.
func TestIdentityAPIKeys(t *testing.T) {
	t.Parallel()
	f := newFakeIdentity()
	f.addAPIKey("k", "key-1", "u1", "catalog:read", "catalog:write")
	v := auth.IdentityAPIKeys(serveIdentity(t, f, nil))
	p, err := v.VerifyAPIKey(t.Context(), "k")
	if err != nil || p.Kind != auth.APIKey || p.Subject != "u1" || p.APIKeyID != "key-1" || len(p.Scopes) != 2 || len(p.Roles) != 0 {
		t.Errorf("VerifyAPIKey(k) = %+v, %v; want the API key principal of u1", p, err)
	}
	if !p.Expiry.IsZero() {
		t.Errorf("VerifyAPIKey(k).Expiry = %v, want none for a key that never expires", p.Expiry)
	}
	// A key's expiry reaches the principal, so calls made with it end then.
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	f.expireAt("key-1", at)
	if p, err := v.VerifyAPIKey(t.Context(), "k"); err != nil || !p.Expiry.Equal(at) {
		t.Errorf("VerifyAPIKey(expiring k) = %+v, %v; want Expiry %v", p, err, at)
	}
	_, err = v.VerifyAPIKey(t.Context(), "nope")
	wantCode(t, "VerifyAPIKey(unknown)", err, codes.Unauthenticated, "API_KEY_INVALID")
	// A secret identity's validation refuses is no key at all.
	_, err = v.VerifyAPIKey(t.Context(), "")
	wantCode(t, "VerifyAPIKey(empty)", err, codes.Unauthenticated, "API_KEY_INVALID")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = v.VerifyAPIKey(ctx, "k")
	wantCode(t, "VerifyAPIKey(cancelled)", err, codes.Canceled, "")
}
