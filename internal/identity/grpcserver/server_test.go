package grpcserver_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	identityv1 "github.com/bazaarhq/bazaar/gen/bazaar/identity/v1"
	"github.com/bazaarhq/bazaar/internal/identity"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

func TestEveryMethodHasAPolicy(t *testing.T) {
	t.Parallel()
	h := start(t)
	if err := h.srv.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	if got := h.srv.Services(); !slices.Equal(got, []string{identityv1.IdentityService_ServiceDesc.ServiceName}) {
		t.Errorf("Services() = %v", got)
	}
}

func TestSessionEndToEnd(t *testing.T) {
	t.Parallel()
	h := start(t)
	c := h.client
	u := h.register(t, "Ada@Example.COM")
	if u.GetEmail() != "ada@example.com" || !slices.Equal(u.GetRoles(), []string{"customer"}) || u.GetCreateTime() == nil {
		t.Errorf("Register() user = %v", u)
	}
	login := h.login(t, "ada@example.com")
	tokens := login.GetTokens()
	if login.GetUser().GetId() != u.GetId() || tokens.GetAccessToken() == "" || !tokens.GetAccessTokenExpireTime().AsTime().After(time.Now()) {
		t.Fatalf("Login() = %v", login)
	}

	me, err := c.GetMe(callCtx(t, bearer(tokens.GetAccessToken())...), &identityv1.GetMeRequest{})
	if err != nil || me.GetUser().GetId() != u.GetId() {
		t.Fatalf("GetMe() = %v, %v; want %s", me, err, u.GetId())
	}

	refreshed, err := c.Refresh(callCtx(t), &identityv1.RefreshRequest{RefreshToken: tokens.GetRefreshToken()})
	if err != nil {
		t.Fatalf("Refresh() = %v", err)
	}
	next := refreshed.GetTokens()
	if next.GetRefreshToken() == tokens.GetRefreshToken() {
		t.Errorf("Refresh() returned the same refresh token")
	}
	if _, err := c.GetMe(callCtx(t, bearer(next.GetAccessToken())...), &identityv1.GetMeRequest{}); err != nil {
		t.Errorf("GetMe(refreshed token) = %v", err)
	}

	if _, err := c.Logout(callCtx(t), &identityv1.LogoutRequest{RefreshToken: next.GetRefreshToken()}); err != nil {
		t.Fatalf("Logout() = %v", err)
	}
	_, err = c.Refresh(callCtx(t), &identityv1.RefreshRequest{RefreshToken: next.GetRefreshToken()})
	wantStatus(t, "Refresh(after logout)", err, codes.Unauthenticated, identity.ReasonSessionRevoked)
	_, err = c.Refresh(callCtx(t), &identityv1.RefreshRequest{RefreshToken: tokens.GetRefreshToken()})
	wantStatus(t, "Refresh(spent token)", err, codes.Unauthenticated, "")

	_, err = c.Login(callCtx(t), &identityv1.LoginRequest{Email: "ada@example.com", Password: "wrong password 1"})
	wantStatus(t, "Login(wrong password)", err, codes.Unauthenticated, identity.ReasonInvalidCredentials)
	_, err = c.Login(callCtx(t), &identityv1.LoginRequest{Email: "nobody@example.com", Password: strongPassword})
	wantStatus(t, "Login(unknown email)", err, codes.Unauthenticated, identity.ReasonInvalidCredentials)
}

func TestCallersWithoutValidCredentials(t *testing.T) {
	t.Parallel()
	h := start(t)
	_, err := h.client.GetMe(callCtx(t), &identityv1.GetMeRequest{})
	wantStatus(t, "GetMe(no credentials)", err, codes.Unauthenticated, "CREDENTIALS_REQUIRED")
	_, err = h.client.GetMe(callCtx(t, bearer("not.a.jwt")...), &identityv1.GetMeRequest{})
	wantStatus(t, "GetMe(garbage token)", err, codes.Unauthenticated, "TOKEN_INVALID")
	h.register(t, "ada@example.com")
	refresh := h.login(t, "ada@example.com").GetTokens().GetRefreshToken()
	_, err = h.client.GetMe(callCtx(t, bearer(refresh)...), &identityv1.GetMeRequest{})
	wantStatus(t, "GetMe(refresh token as bearer)", err, codes.Unauthenticated, "TOKEN_INVALID")
}

func TestAdminMethods(t *testing.T) {
	t.Parallel()
	h := start(t)
	c := h.client
	ada := h.register(t, "ada@example.com")
	customer := h.login(t, "ada@example.com").GetTokens().GetAccessToken()
	admin := h.adminToken(t)

	_, err := c.ListUsers(callCtx(t, bearer(customer)...), &identityv1.ListUsersRequest{})
	wantStatus(t, "ListUsers(customer)", err, codes.PermissionDenied, "POLICY_DENIED")
	_, err = c.SetUserRoles(callCtx(t, bearer(customer)...), &identityv1.SetUserRolesRequest{UserId: ada.GetId(), Roles: []string{"admin"}})
	wantStatus(t, "SetUserRoles(customer)", err, codes.PermissionDenied, "POLICY_DENIED")
	_, err = c.CreateClient(callCtx(t, bearer(customer)...), &identityv1.CreateClientRequest{Name: "x", Scopes: []string{"a:b"}})
	wantStatus(t, "CreateClient(customer)", err, codes.PermissionDenied, "POLICY_DENIED")

	list, err := c.ListUsers(callCtx(t, bearer(admin)...), &identityv1.ListUsersRequest{PageSize: 1})
	if err != nil || len(list.GetUsers()) != 1 || list.GetNextPageToken() == "" {
		t.Fatalf("ListUsers(admin, 1) = %v, %v; want one user and a next page", list, err)
	}
	rest, err := c.ListUsers(callCtx(t, bearer(admin)...), &identityv1.ListUsersRequest{PageToken: list.GetNextPageToken()})
	if err != nil || len(rest.GetUsers()) != 1 || rest.GetNextPageToken() != "" {
		t.Errorf("ListUsers(next page) = %v, %v; want the last user", rest, err)
	}
	_, err = c.ListUsers(callCtx(t, bearer(admin)...), &identityv1.ListUsersRequest{PageSize: 501})
	wantStatus(t, "ListUsers(page_size 501)", err, codes.InvalidArgument, "", "page_size")
	_, err = c.ListUsers(callCtx(t, bearer(admin)...), &identityv1.ListUsersRequest{PageToken: list.GetNextPageToken() + "x"})
	wantStatus(t, "ListUsers(tampered token)", err, codes.InvalidArgument, identity.ReasonPageTokenInvalid, "page_token")

	set, err := c.SetUserRoles(callCtx(t, bearer(admin)...), &identityv1.SetUserRolesRequest{UserId: ada.GetId(), Roles: []string{"support", "customer"}})
	if err != nil || !slices.Equal(set.GetUser().GetRoles(), []string{"customer", "support"}) {
		t.Errorf("SetUserRoles() = %v, %v", set, err)
	}
	_, err = c.SetUserRoles(callCtx(t, bearer(admin)...), &identityv1.SetUserRolesRequest{UserId: "nobody", Roles: nil})
	wantStatus(t, "SetUserRoles(unknown user)", err, codes.NotFound, identity.ReasonUserNotFound)
	_, err = c.SetUserRoles(callCtx(t, bearer(admin)...), &identityv1.SetUserRolesRequest{UserId: ada.GetId(), Roles: []string{"Admin"}})
	wantStatus(t, "SetUserRoles(bad role)", err, codes.InvalidArgument, "", "roles[0]")
}

func TestSetUserRolesKeepsAnAdmin(t *testing.T) {
	t.Parallel()
	h := start(t)
	c := h.client
	ada := h.register(t, "ada@example.com")
	admin := h.adminToken(t)
	me, err := c.GetMe(callCtx(t, bearer(admin)...), &identityv1.GetMeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	self := me.GetUser().GetId()

	_, err = c.SetUserRoles(callCtx(t, bearer(admin)...), &identityv1.SetUserRolesRequest{UserId: self, Roles: []string{"customer"}})
	wantStatus(t, "SetUserRoles(demote the last admin)", err, codes.FailedPrecondition, identity.ReasonLastAdmin)
	want := []*errdetails.PreconditionFailure_Violation{{Type: "ROLE", Subject: "admin", Description: "at least one user must keep the admin role"}}
	if diff := cmp.Diff(want, errs.FromError(err).Preconditions, protocmp.Transform()); diff != "" {
		t.Errorf("SetUserRoles(demote the last admin) PreconditionFailure mismatch (-want +got):\n%s", diff)
	}

	if _, err := c.SetUserRoles(callCtx(t, bearer(admin)...), &identityv1.SetUserRolesRequest{UserId: ada.GetId(), Roles: []string{"admin"}}); err != nil {
		t.Fatalf("SetUserRoles(promote ada) = %v", err)
	}
	set, err := c.SetUserRoles(callCtx(t, bearer(admin)...), &identityv1.SetUserRolesRequest{UserId: self, Roles: []string{"customer"}})
	if err != nil || !slices.Equal(set.GetUser().GetRoles(), []string{"customer"}) {
		t.Errorf("SetUserRoles(demote one of two admins) = %v, %v; want roles [customer]", set, err)
	}
}

func TestValidationErrorsHaveDetails(t *testing.T) {
	t.Parallel()
	h := start(t)
	c := h.client
	for _, tc := range []struct {
		name  string
		req   *identityv1.RegisterRequest
		field string
	}{
		{"bad email", &identityv1.RegisterRequest{Email: "not-an-email", Password: strongPassword}, "email"},
		{"short password", &identityv1.RegisterRequest{Email: "ada@example.com", Password: "Short1"}, "password"},
		{"one-class password", &identityv1.RegisterRequest{Email: "ada@example.com", Password: "aaaaaaaaaaaaaaaaaa"}, "password"},
	} {
		_, err := c.Register(callCtx(t), tc.req)
		wantStatus(t, "Register("+tc.name+")", err, codes.InvalidArgument, "", tc.field)
	}
	// Whitespace passes validation (min_len 1) and normalises to nothing.
	_, err := c.Login(callCtx(t), &identityv1.LoginRequest{Email: "   ", Password: strongPassword})
	wantStatus(t, "Login(blank email)", err, codes.InvalidArgument, identity.ReasonEmailInvalid, "email")
	h.register(t, "ada@example.com")
	_, err = c.Register(callCtx(t), &identityv1.RegisterRequest{Email: "ADA@example.com", Password: strongPassword})
	wantStatus(t, "Register(taken email)", err, codes.AlreadyExists, identity.ReasonEmailTaken)
}

func TestUpdateMeMasks(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.register(t, "ada@example.com")
	ctx := callCtx(t, bearer(h.login(t, "ada@example.com").GetTokens().GetAccessToken())...)
	mask := func(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

	resp, err := h.client.UpdateMe(ctx, &identityv1.UpdateMeRequest{
		User: &identityv1.User{DisplayName: "Countess", Email: "ignored@example.com"}, UpdateMask: mask("display_name"),
	})
	if err != nil || resp.GetUser().GetDisplayName() != "Countess" || resp.GetUser().GetEmail() != "ada@example.com" {
		t.Fatalf("UpdateMe(display_name) = %v, %v", resp, err)
	}
	for _, tc := range []struct {
		name   string
		req    *identityv1.UpdateMeRequest
		code   codes.Code
		reason string
		field  string
	}{
		{"empty mask", &identityv1.UpdateMeRequest{User: &identityv1.User{}, UpdateMask: mask()}, codes.InvalidArgument, identity.ReasonNothingToUpdate, "update_mask"},
		{"unknown path", &identityv1.UpdateMeRequest{User: &identityv1.User{}, UpdateMask: mask("display_name", "nickname")}, codes.InvalidArgument, "UPDATE_MASK_INVALID", "update_mask"},
		{"immutable path", &identityv1.UpdateMeRequest{User: &identityv1.User{Email: "x@example.com"}, UpdateMask: mask("email")}, codes.InvalidArgument, "UPDATE_MASK_INVALID", "update_mask"},
		{"password without current", &identityv1.UpdateMeRequest{User: &identityv1.User{}, UpdateMask: mask("password"), NewPassword: "Another password 2"}, codes.InvalidArgument, identity.ReasonCurrentPasswordRequired, "current_password"},
		{"wrong current password", &identityv1.UpdateMeRequest{User: &identityv1.User{}, UpdateMask: mask("password"), NewPassword: "Another password 2", CurrentPassword: "wrong password 1"}, codes.PermissionDenied, identity.ReasonWrongPassword, "current_password"},
		{"no mask", &identityv1.UpdateMeRequest{User: &identityv1.User{}}, codes.InvalidArgument, "", "update_mask"},
	} {
		_, err := h.client.UpdateMe(ctx, tc.req)
		wantStatus(t, "UpdateMe("+tc.name+")", err, tc.code, tc.reason, tc.field)
	}
	_, err = h.client.UpdateMe(ctx, &identityv1.UpdateMeRequest{
		User: &identityv1.User{}, UpdateMask: mask("password"), NewPassword: "Another password 2", CurrentPassword: strongPassword,
	})
	if err != nil {
		t.Fatalf("UpdateMe(password) = %v", err)
	}
	if _, err := h.client.Login(callCtx(t), &identityv1.LoginRequest{Email: "ada@example.com", Password: "Another password 2"}); err != nil {
		t.Errorf("Login(new password) = %v", err)
	}
}

func TestAPIKeysOverGRPC(t *testing.T) {
	t.Parallel()
	h := start(t)
	c := h.client
	ada := h.register(t, "ada@example.com")
	h.register(t, "bob@example.com")
	adaCtx := callCtx(t, bearer(h.login(t, "ada@example.com").GetTokens().GetAccessToken())...)
	bobCtx := callCtx(t, bearer(h.login(t, "bob@example.com").GetTokens().GetAccessToken())...)

	expire := timestamppb.New(time.Now().Add(time.Hour))
	created, err := c.CreateApiKey(adaCtx, &identityv1.CreateApiKeyRequest{Name: "ci", Scopes: []string{"catalog:read"}, ExpireTime: expire})
	if err != nil {
		t.Fatalf("CreateApiKey() = %v", err)
	}
	key, secret := created.GetApiKey(), created.GetSecret()
	if !strings.HasPrefix(secret, key.GetPrefix()) || key.GetExpireTime() == nil || key.GetRevokeTime() != nil {
		t.Errorf("CreateApiKey() = %v", created)
	}

	me, err := c.GetMe(callCtx(t, apiKey(secret)...), &identityv1.GetMeRequest{})
	if err != nil || me.GetUser().GetId() != ada.GetId() {
		t.Errorf("GetMe(x-api-key) = %v, %v; want ada", me, err)
	}
	verified, err := c.VerifyApiKey(callCtx(t), &identityv1.VerifyApiKeyRequest{Secret: secret})
	if err != nil || verified.GetUserId() != ada.GetId() || verified.GetApiKeyId() != key.GetId() || !slices.Equal(verified.GetScopes(), []string{"catalog:read"}) {
		t.Errorf("VerifyApiKey() = %v, %v", verified, err)
	}
	if got := verified.GetExpireTime().AsTime(); !got.Equal(key.GetExpireTime().AsTime()) {
		t.Errorf("VerifyApiKey().expire_time = %v, want the key's %v", got, key.GetExpireTime().AsTime())
	}
	list, err := c.ListApiKeys(adaCtx, &identityv1.ListApiKeysRequest{})
	if err != nil || len(list.GetApiKeys()) != 1 || list.GetApiKeys()[0].GetId() != key.GetId() {
		t.Errorf("ListApiKeys() = %v, %v", list, err)
	}
	// An API key cannot mint API keys.
	_, err = c.CreateApiKey(callCtx(t, apiKey(secret)...), &identityv1.CreateApiKeyRequest{Name: "more"})
	wantStatus(t, "CreateApiKey(with an API key)", err, codes.PermissionDenied, identity.ReasonSignInRequired)
	// Bob cannot revoke it, nor learn it exists.
	_, err = c.RevokeApiKey(bobCtx, &identityv1.RevokeApiKeyRequest{ApiKeyId: key.GetId()})
	wantStatus(t, "RevokeApiKey(someone else's)", err, codes.NotFound, identity.ReasonAPIKeyNotFound)

	revoked, err := c.RevokeApiKey(adaCtx, &identityv1.RevokeApiKeyRequest{ApiKeyId: key.GetId()})
	if err != nil || revoked.GetApiKey().GetRevokeTime() == nil {
		t.Fatalf("RevokeApiKey() = %v, %v", revoked, err)
	}
	_, err = c.GetMe(callCtx(t, apiKey(secret)...), &identityv1.GetMeRequest{})
	wantStatus(t, "GetMe(revoked key)", err, codes.Unauthenticated, identity.ReasonAPIKeyInvalid)
	_, err = c.VerifyApiKey(callCtx(t), &identityv1.VerifyApiKeyRequest{Secret: secret})
	wantStatus(t, "VerifyApiKey(revoked)", err, codes.Unauthenticated, identity.ReasonAPIKeyInvalid)

	_, err = c.CreateApiKey(adaCtx, &identityv1.CreateApiKeyRequest{Name: "old", ExpireTime: timestamppb.New(time.Now().Add(-time.Minute))})
	wantStatus(t, "CreateApiKey(past expiry)", err, codes.InvalidArgument, "", "expire_time")
}

func TestClientCredentialsOverGRPC(t *testing.T) {
	t.Parallel()
	h := start(t)
	c := h.client
	admin := h.adminToken(t)
	created, err := c.CreateClient(callCtx(t, bearer(admin)...), &identityv1.CreateClientRequest{
		Name: "reporting", Scopes: []string{"identity:admin", "order:read"},
	})
	if err != nil {
		t.Fatalf("CreateClient() = %v", err)
	}
	id, secret := created.GetClient().GetClientId(), created.GetClientSecret()

	tok, err := c.Token(callCtx(t), &identityv1.TokenRequest{GrantType: "client_credentials", ClientId: id, ClientSecret: secret, Scope: "identity:admin"})
	if err != nil {
		t.Fatalf("Token() = %v", err)
	}
	if tok.GetTokenType() != "Bearer" || tok.GetExpiresIn() != int64(identity.DefaultAccessTokenTTL/time.Second) || tok.GetScope() != "identity:admin" {
		t.Errorf("Token() = %v", tok)
	}
	// The client's scope opens the admin method (its policy lists the scope).
	if _, err := c.ListUsers(callCtx(t, bearer(tok.GetAccessToken())...), &identityv1.ListUsersRequest{}); err != nil {
		t.Errorf("ListUsers(client with identity:admin) = %v", err)
	}
	// A client is no user.
	_, err = c.GetMe(callCtx(t, bearer(tok.GetAccessToken())...), &identityv1.GetMeRequest{})
	wantStatus(t, "GetMe(client)", err, codes.PermissionDenied, identity.ReasonUserRequired)

	narrow, err := c.Token(callCtx(t), &identityv1.TokenRequest{GrantType: "client_credentials", ClientId: id, ClientSecret: secret, Scope: "order:read"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListUsers(callCtx(t, bearer(narrow.GetAccessToken())...), &identityv1.ListUsersRequest{})
	wantStatus(t, "ListUsers(narrowed client token)", err, codes.PermissionDenied, "POLICY_DENIED")

	for _, tc := range []struct {
		name   string
		req    *identityv1.TokenRequest
		code   codes.Code
		reason string
		field  string
	}{
		{"wrong secret", &identityv1.TokenRequest{GrantType: "client_credentials", ClientId: id, ClientSecret: "bzc_wrong"}, codes.Unauthenticated, identity.ReasonInvalidClient, ""},
		{"scope not held", &identityv1.TokenRequest{GrantType: "client_credentials", ClientId: id, ClientSecret: secret, Scope: "catalog:write"}, codes.InvalidArgument, identity.ReasonInvalidScope, "scope"},
		{"password grant", &identityv1.TokenRequest{GrantType: "password", ClientId: id, ClientSecret: secret}, codes.InvalidArgument, "", "grant_type"},
	} {
		_, err := c.Token(callCtx(t), tc.req)
		if tc.field == "" {
			wantStatus(t, "Token("+tc.name+")", err, tc.code, tc.reason)
			continue
		}
		wantStatus(t, "Token("+tc.name+")", err, tc.code, tc.reason, tc.field)
	}
}

func TestGetJwksVerifiesIssuedTokens(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.register(t, "ada@example.com")
	token := h.login(t, "ada@example.com").GetTokens().GetAccessToken()

	jwks, err := h.client.GetJwks(callCtx(t), &identityv1.GetJwksRequest{})
	if err != nil {
		t.Fatalf("GetJwks() = %v", err)
	}
	if jwks.GetCacheSeconds() != 300 || len(jwks.GetKeys()) != 2 {
		t.Fatalf("GetJwks() = %d keys, cache %ds; want 2 keys (current and next), 300s", len(jwks.GetKeys()), jwks.GetCacheSeconds())
	}
	var keys []identity.PublicKey
	for _, k := range jwks.GetKeys() {
		if k.GetKty() != "OKP" || k.GetCrv() != "Ed25519" || k.GetAlg() != "EdDSA" || k.GetUse() != "sig" || strings.ContainsAny(k.GetX(), "=+/") {
			t.Errorf("JWK = %v, want OKP Ed25519 EdDSA sig, x base64url without padding", k)
		}
		x, err := base64.RawURLEncoding.DecodeString(k.GetX())
		if err != nil || len(x) != ed25519.PublicKeySize {
			t.Fatalf("JWK x = %q: %v", k.GetX(), err)
		}
		if identity.KeyThumbprint(x) != k.GetKid() {
			t.Errorf("kid %s is not the RFC 7638 thumbprint of x", k.GetKid())
		}
		keys = append(keys, identity.PublicKey{ID: k.GetKid(), Key: x})
	}
	parser := auth.NewTokenParser(auth.DefaultIssuer, auth.DefaultAudience, auth.DefaultLeeway, nil)
	if _, err := parser.Parse(token, keyLookup(keys)); err != nil {
		t.Errorf("a login token does not verify against GetJwks: %v", err)
	}
	_, err = parser.Parse(token, keyLookup(keys[1:])) // without the signing key
	if err == nil {
		t.Errorf("a token verified without its key")
	}
}
