package auth_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	identityv1 "github.com/bazaarhq/bazaar/gen/bazaar/identity/v1"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// t0 is the tests' "now": tokens and key sets are judged by a fake clock.
var t0 = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

// testClock is a settable clock, safe for concurrent use.
type testClock struct{ ns atomic.Int64 }

func newClock(t time.Time) *testClock {
	c := &testClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// keyPair is a signing key and its public half. Keys come from fixed seeds,
// so tokens signed at a fixed time are the same in every run (the fuzz
// seeds rely on it).
type keyPair struct {
	signing auth.SigningKey
	public  ed25519.PublicKey
}

func newKeyPair(kid string, seed byte) keyPair {
	priv := ed25519.NewKeyFromSeed(bytesOf(seed, ed25519.SeedSize))
	return keyPair{signing: auth.SigningKey{ID: kid, Private: priv}, public: priv.Public().(ed25519.PublicKey)}
}

func bytesOf(b byte, n int) []byte {
	s := make([]byte, n)
	for i := range s {
		s[i] = b
	}
	return s
}

func (k keyPair) jwk() auth.JWK {
	return auth.JWK{
		KeyID: k.signing.ID, KeyType: "OKP", Curve: "Ed25519", Algorithm: "EdDSA", Use: "sig",
		X: base64.RawURLEncoding.EncodeToString(k.public),
	}
}

// jwksSource is an in-memory key set source that counts its fetches and
// can fail or block on demand.
type jwksSource struct {
	mu      sync.Mutex
	keys    []auth.JWK
	ttl     time.Duration
	err     error
	gate    chan struct{} // when set, a fetch waits for it to close
	fetches int
}

func newJWKSSource(keys ...keyPair) *jwksSource {
	s := &jwksSource{}
	s.publish(keys...)
	return s
}

func (s *jwksSource) Fetch(ctx context.Context) ([]auth.JWK, time.Duration, error) {
	s.mu.Lock()
	s.fetches++
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.keys), s.ttl, s.err
}

func (s *jwksSource) publish(keys ...keyPair) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = s.keys[:0]
	for _, k := range keys {
		s.keys = append(s.keys, k.jwk())
	}
}

func (s *jwksSource) publishJWKs(keys ...auth.JWK) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = slices.Clone(keys)
}

func (s *jwksSource) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *jwksSource) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

// userClaims are the claims of a customer's token issued at now.
func userClaims(now time.Time, sub string, roles ...string) auth.AccessClaims {
	return auth.AccessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    auth.DefaultIssuer,
			Audience:  jwt.ClaimStrings{auth.DefaultAudience},
			Subject:   sub,
			ID:        "jti-" + sub,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(15 * time.Minute)),
		},
		Kind:  "user",
		Roles: roles,
	}
}

// clientClaims are the claims of an OAuth2 client's token issued at now.
func clientClaims(now time.Time, clientID, scope string) auth.AccessClaims {
	c := userClaims(now, clientID)
	c.Kind, c.Scope = "client", scope
	return c
}

func sign(tb testing.TB, k keyPair, c auth.AccessClaims) string {
	tb.Helper()
	s, err := auth.SignAccessToken(k.signing, c)
	if err != nil {
		tb.Fatalf("SignAccessToken() = %v", err)
	}
	return s
}

// craft builds a token by hand, for the shapes SignAccessToken refuses to
// make: any algorithm, header and claims.
func craft(tb testing.TB, method jwt.SigningMethod, key any, header map[string]any, claims jwt.Claims) string {
	tb.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		tb.Fatalf("craft token: %v", err)
	}
	return s
}

// accessMap is userClaims as a map, to tamper with.
func accessMap(now time.Time, sub string) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": auth.DefaultIssuer, "aud": auth.DefaultAudience, "sub": sub, "jti": "jti-" + sub,
		"iat": now.Unix(), "exp": now.Add(15 * time.Minute).Unix(), "typ": "access", "kind": "user",
	}
}

// incoming returns a server-side context carrying metadata kv.
func incoming(tb testing.TB, kv ...string) context.Context {
	tb.Helper()
	return metadata.NewIncomingContext(tb.Context(), metadata.Pairs(kv...))
}

func bearer(tb testing.TB, token string) context.Context {
	tb.Helper()
	return incoming(tb, "authorization", "Bearer "+token)
}

// details reads code, reason and metadata from an Authorizer's error or a
// call's error alike.
func details(err error) errs.Details {
	return errs.FromError(errs.ToStatus(err).Err())
}

// wantCode fails unless err has code and (when reason is not "") reason.
func wantCode(tb testing.TB, call string, err error, code codes.Code, reason string) {
	tb.Helper()
	d := details(err)
	if d.Code != code || (reason != "" && d.Reason != reason) {
		tb.Errorf("%s = %v (reason %q), want %v %s", call, err, d.Reason, code, reason)
	}
}

// Policies used by the unit tests.
var (
	public        = &auth.Policy{Public: true}
	authenticated = &auth.Policy{Authenticated: true}
	adminOnly     = &auth.Policy{Roles: []string{"admin"}, Scopes: []string{"identity:admin"}}
)

// keyEnv is a key set with one key, k1, and a fake clock at t0.
type keyEnv struct {
	clock *testClock
	k1    keyPair
	src   *jwksSource
	keys  *auth.KeySet
}

func newKeyEnv() *keyEnv {
	e := &keyEnv{clock: newClock(t0), k1: newKeyPair("k1", 1)}
	e.src = newJWKSSource(e.k1)
	e.src.ttl = 5 * time.Minute
	e.keys = auth.NewKeySet(e.src.Fetch, auth.WithClock(e.clock.Now))
	return e
}

// authenticator returns an Authenticator on e's keys and clock.
func (e *keyEnv) authenticator(opts ...auth.AuthenticatorOption) *auth.Authenticator {
	return auth.NewAuthenticator(append([]auth.AuthenticatorOption{auth.WithKeySet(e.keys), auth.WithClock(e.clock.Now)}, opts...)...)
}

// fakeIdentity stands in for the identity service (internal/identity is
// being written concurrently), keeping to its contract: GetJwks publishes
// the key set; VerifyApiKey answers an unknown or revoked key
// UNAUTHENTICATED, and UNAVAILABLE while "down". Its in-memory keys are
// also reachable in-process as an auth.APIKeyVerifier. Served as an
// application, GetMe echoes the caller's principal and ListUsers (admin
// only) answers an empty page.
type fakeIdentity struct {
	identityv1.UnimplementedIdentityServiceServer

	mu          sync.Mutex
	jwks        []auth.JWK
	apiKeys     map[string]*fakeAPIKey // by secret
	down        bool
	verifyCalls int
}

type fakeAPIKey struct {
	id, userID string
	scopes     []string
	revoked    bool
	expiry     time.Time
}

func newFakeIdentity() *fakeIdentity {
	return &fakeIdentity{apiKeys: make(map[string]*fakeAPIKey)}
}

func (f *fakeIdentity) addAPIKey(secret, id, userID string, scopes ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.apiKeys[secret] = &fakeAPIKey{id: id, userID: userID, scopes: scopes}
}

func (f *fakeIdentity) expireAt(id string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range f.apiKeys {
		if k.id == id {
			k.expiry = at
		}
	}
}

func (f *fakeIdentity) revoke(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range f.apiKeys {
		if k.id == id {
			k.revoked = true
		}
	}
}

func (f *fakeIdentity) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

func (f *fakeIdentity) publish(keys ...keyPair) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jwks = f.jwks[:0]
	for _, k := range keys {
		f.jwks = append(f.jwks, k.jwk())
	}
}

func (f *fakeIdentity) verifications() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.verifyCalls
}

func (f *fakeIdentity) GetJwks(context.Context, *identityv1.GetJwksRequest) (*identityv1.GetJwksResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	resp := &identityv1.GetJwksResponse{CacheSeconds: 300}
	for _, k := range f.jwks {
		resp.Keys = append(resp.Keys, &identityv1.Jwk{Kid: k.KeyID, Kty: k.KeyType, Crv: k.Curve, X: k.X, Alg: k.Algorithm, Use: k.Use})
	}
	return resp, nil
}

func (f *fakeIdentity) VerifyApiKey(_ context.Context, r *identityv1.VerifyApiKeyRequest) (*identityv1.VerifyApiKeyResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.verifyCalls++
	if f.down {
		return nil, status.Error(codes.Unavailable, "identity is down")
	}
	k, ok := f.apiKeys[r.GetSecret()]
	if !ok || k.revoked {
		return nil, errs.New(errs.Unauthenticated, "API_KEY_INVALID", "unknown or revoked API key")
	}
	resp := &identityv1.VerifyApiKeyResponse{UserId: k.userID, ApiKeyId: k.id, Scopes: slices.Clone(k.scopes)}
	if !k.expiry.IsZero() {
		resp.ExpireTime = timestamppb.New(k.expiry)
	}
	return resp, nil
}

// VerifyAPIKey is VerifyApiKey in-process, mapped as IdentityAPIKeys maps it.
func (f *fakeIdentity) VerifyAPIKey(ctx context.Context, secret string) (*auth.Principal, error) {
	resp, err := f.VerifyApiKey(ctx, &identityv1.VerifyApiKeyRequest{Secret: secret})
	switch {
	case err == nil:
		return &auth.Principal{Kind: auth.APIKey, Subject: resp.GetUserId(), APIKeyID: resp.GetApiKeyId(), Scopes: resp.GetScopes()}, nil
	case status.Code(err) == codes.Unavailable:
		return nil, errs.Wrap(err, errs.Unavailable, "API_KEY_VERIFIER_UNAVAILABLE", "retry")
	}
	return nil, err
}

func (f *fakeIdentity) GetMe(ctx context.Context, _ *identityv1.GetMeRequest) (*identityv1.GetMeResponse, error) {
	p := auth.PrincipalFrom(ctx)
	if p == nil {
		return nil, errors.New("GetMe ran without a principal")
	}
	return &identityv1.GetMeResponse{User: &identityv1.User{Id: p.Subject, DisplayName: p.Key(), Roles: p.Roles}}, nil
}

func (f *fakeIdentity) ListUsers(context.Context, *identityv1.ListUsersRequest) (*identityv1.ListUsersResponse, error) {
	return &identityv1.ListUsersResponse{}, nil
}

// serve runs srv over an in-memory connection until the test ends and
// returns a client connection to it, with creds (insecure when nil).
func serve(tb testing.TB, srv *grpcx.Server, creds credentials.TransportCredentials) *grpc.ClientConn {
	tb.Helper()
	lis := bufconn.Listen(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	if creds == nil {
		creds = insecure.NewCredentials()
	}
	cc, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(creds))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cc.Close()
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Serve() = %v, want nil", err)
		}
	})
	return cc
}

// serveIdentity serves impl as the IdentityService on a grpcx server built
// with opts and returns a client of it.
func serveIdentity(tb testing.TB, impl identityv1.IdentityServiceServer, creds credentials.TransportCredentials, opts ...grpcx.ServerOption) identityv1.IdentityServiceClient {
	tb.Helper()
	srv, err := grpcx.NewServer(opts...)
	if err != nil {
		tb.Fatalf("NewServer() = %v", err)
	}
	identityv1.RegisterIdentityServiceServer(srv, impl)
	return identityv1.NewIdentityServiceClient(serve(tb, srv, creds))
}

// withBearer returns a client context sending token.
func withBearer(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}
