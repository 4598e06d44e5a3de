package grpcserver_test

import (
	"context"
	"crypto/ed25519"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	identityv1 "github.com/bazaarhq/bazaar/gen/bazaar/identity/v1"
	"github.com/bazaarhq/bazaar/internal/identity"
	"github.com/bazaarhq/bazaar/internal/identity/grpcserver"
	"github.com/bazaarhq/bazaar/internal/identity/store"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

const strongPassword = "correct horse battery staple 7"

// testAuthorizer is TEST SUPPORT, not the production authenticator (that
// one is being built in internal/platform/auth). It accepts an
// "authorization: Bearer <access token>" verified against the identity
// service's own published keys, or an "x-api-key" checked with
// VerifyAPIKey, and admits the call when the resulting principal satisfies
// the method's policy.
type testAuthorizer struct {
	svc    *identity.Service
	parser *auth.TokenParser
}

func newTestAuthorizer(svc *identity.Service) *testAuthorizer {
	return &testAuthorizer{svc: svc, parser: auth.NewTokenParser(auth.DefaultIssuer, auth.DefaultAudience, auth.DefaultLeeway, nil)}
}

func (a *testAuthorizer) Authorize(ctx context.Context, method string, policy *auth.Policy) (context.Context, error) {
	p, err := a.principal(ctx)
	if err != nil {
		return ctx, err
	}
	if !p.Admits(policy) {
		if p == nil {
			return ctx, errs.New(errs.Unauthenticated, "CREDENTIALS_REQUIRED", "this method needs credentials")
		}
		return ctx, errs.New(errs.PermissionDenied, "POLICY_DENIED", "the caller may not call "+method)
	}
	if p != nil {
		ctx = auth.WithPrincipal(ctx, p)
	}
	return ctx, nil
}

func (a *testAuthorizer) principal(ctx context.Context) (*auth.Principal, error) {
	if v := metadata.ValueFromIncomingContext(ctx, "authorization"); len(v) > 0 {
		token, ok := strings.CutPrefix(v[0], "Bearer ")
		if !ok {
			return nil, errs.New(errs.Unauthenticated, "CREDENTIALS_MALFORMED", "want Bearer")
		}
		keys, err := a.svc.PublicKeys(ctx)
		if err != nil {
			return nil, err
		}
		claims, err := a.parser.Parse(token, keyLookup(keys))
		if err != nil {
			return nil, err
		}
		return claims.Principal(), nil
	}
	if v := metadata.ValueFromIncomingContext(ctx, "x-api-key"); len(v) > 0 {
		return a.svc.VerifyAPIKey(ctx, v[0])
	}
	return nil, nil
}

func keyLookup(keys []identity.PublicKey) auth.KeyLookup {
	return func(kid string) (ed25519.PublicKey, error) {
		i := slices.IndexFunc(keys, func(k identity.PublicKey) bool { return k.ID == kid })
		if i < 0 {
			return nil, auth.ErrUnknownKey
		}
		return keys[i].Key, nil
	}
}

// harness is a real grpcx.Server serving the identity API over bufconn.
type harness struct {
	svc    *identity.Service
	srv    *grpcx.Server
	client identityv1.IdentityServiceClient
}

func start(t *testing.T) *harness {
	t.Helper()
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "identity.db"))
	if err != nil {
		t.Fatalf("store.Open() = %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc, err := identity.New(st, identity.Config{
		Argon2: identity.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32},
	})
	if err != nil {
		t.Fatalf("identity.New() = %v", err)
	}
	if err := svc.RotateKeys(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv, err := grpcx.NewServer(grpcx.WithAuthorizer(newTestAuthorizer(svc)), grpcx.WithShutdownGrace(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	grpcserver.Register(srv, svc)

	lis := bufconn.Listen(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	cc, err := grpc.NewClient("passthrough:///identity",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cc.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve() = %v", err)
		}
	})
	return &harness{svc: svc, srv: srv, client: identityv1.NewIdentityServiceClient(cc)}
}

// ctx returns a call context with a deadline and, optionally, a credential
// header ("authorization" or "x-api-key").
func callCtx(t *testing.T, kv ...string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	if len(kv) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, kv...)
	}
	return ctx
}

func bearer(token string) []string { return []string{"authorization", "Bearer " + token} }

func apiKey(secret string) []string { return []string{"x-api-key", secret} }

// register and login create an account and sign in over gRPC.
func (h *harness) register(t *testing.T, email string) *identityv1.User {
	t.Helper()
	resp, err := h.client.Register(callCtx(t), &identityv1.RegisterRequest{Email: email, Password: strongPassword, DisplayName: "Test"})
	if err != nil {
		t.Fatalf("Register(%s) = %v", email, err)
	}
	return resp.GetUser()
}

func (h *harness) login(t *testing.T, email string) *identityv1.LoginResponse {
	t.Helper()
	resp, err := h.client.Login(callCtx(t), &identityv1.LoginRequest{Email: email, Password: strongPassword})
	if err != nil {
		t.Fatalf("Login(%s) = %v", email, err)
	}
	return resp
}

// adminToken bootstraps the administrator and signs in as it.
func (h *harness) adminToken(t *testing.T) string {
	t.Helper()
	if _, _, err := h.svc.EnsureAdmin(t.Context(), "admin@bazaar.test", strongPassword); err != nil {
		t.Fatalf("EnsureAdmin() = %v", err)
	}
	return h.login(t, "admin@bazaar.test").GetTokens().GetAccessToken()
}

// wantStatus fails the test unless err is a status with code and reason
// and, when fields are given, a BadRequest naming exactly them.
func wantStatus(t *testing.T, call string, err error, code codes.Code, reason string, fields ...string) {
	t.Helper()
	d := errs.FromError(err)
	if d.Code != code || (reason != "" && d.Reason != reason) {
		t.Errorf("%s = %v (reason %q), want %v %s", call, err, d.Reason, code, reason)
		return
	}
	if len(fields) == 0 {
		return
	}
	var got []string
	for _, f := range d.FieldViolations {
		got = append(got, f.Field)
	}
	if !slices.Equal(got, fields) {
		t.Errorf("%s BadRequest fields = %v, want %v", call, got, fields)
	}
}
