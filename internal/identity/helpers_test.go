package identity_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/bazaarhq/bazaar/internal/identity"
	"github.com/bazaarhq/bazaar/internal/identity/store"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb/sqldbtest"
)

// tinyArgon2 keeps the suite fast; production uses DefaultArgon2Params.
var tinyArgon2 = identity.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// strongPassword passes the password policy.
const strongPassword = "correct horse battery staple 7"

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// switchableReader reads from crypto/rand until broken, then fails.
type switchableReader struct{ broken atomic.Bool }

var errRandomBroken = errors.New("random source broken")

func (r *switchableReader) Read(p []byte) (int, error) {
	if r.broken.Load() {
		return 0, errRandomBroken
	}
	return rand.Read(p)
}

// env is a Service under test with its clock and store.
type env struct {
	svc   *identity.Service
	clock *fakeClock
	store *store.Store
	cfg   identity.Config
}

type envOption func(*identity.Config)

func withConfig(f func(*identity.Config)) envOption { return f }

// newEnv returns a Service over a fresh SQLite store with a fake clock and
// tiny argon2 parameters.
func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	return newEnvOn(t, openSQLite(t), opts...)
}

// newEnvOn returns a Service over st (several services may share one store,
// like replicas).
func newEnvOn(t testing.TB, st *store.Store, opts ...envOption) *env {
	t.Helper()
	clock := newFakeClock()
	cfg := identity.Config{Clock: clock.Now, Argon2: tinyArgon2}
	for _, o := range opts {
		o(&cfg)
	}
	svc, err := identity.New(st, cfg)
	if err != nil {
		t.Fatalf("identity.New() = %v", err)
	}
	return &env{svc: svc, clock: clock, store: st, cfg: cfg}
}

func openSQLite(t testing.TB) *store.Store {
	t.Helper()
	return openOn(t, sqldbtest.SQLite())
}

// openPostgres opens a store in a fresh schema of the test server, dropped
// when the test ends; it skips the test without a server (fails under CI).
func openPostgres(t testing.TB) *store.Store {
	t.Helper()
	return openOn(t, sqldbtest.Postgres(t))
}

func openOn(t testing.TB, b sqldbtest.Backend) *store.Store {
	t.Helper()
	tg := b.Fresh(t, "identity")
	return openStore(t, tg.URL, tg.Options...)
}

func openStore(t testing.TB, url string, opts ...sqldb.Option) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), url, opts...)
	if err != nil {
		t.Fatalf("store.Open() = %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("store.Close() = %v", err)
		}
	})
	return st
}

// register creates an account or fails the test.
func (e *env) register(t testing.TB, email string) *identity.User {
	t.Helper()
	u, err := e.svc.Register(t.Context(), identity.Registration{Email: email, Password: strongPassword, DisplayName: "Test " + email})
	if err != nil {
		t.Fatalf("Register(%s) = %v", email, err)
	}
	return u
}

// login signs in or fails the test.
func (e *env) login(t testing.TB, email string) *identity.TokenPair {
	t.Helper()
	_, pair, err := e.svc.Login(t.Context(), email, strongPassword)
	if err != nil {
		t.Fatalf("Login(%s) = %v", email, err)
	}
	return pair
}

// parse verifies an access token against the service's published keys at
// the fake clock's time.
func (e *env) parse(t testing.TB, token string) (*auth.AccessClaims, error) {
	t.Helper()
	keys, err := e.svc.PublicKeys(t.Context())
	if err != nil {
		t.Fatalf("PublicKeys() = %v", err)
	}
	return parseWith(token, keys, e.clock.Now)
}

func parseWith(token string, keys []identity.PublicKey, now func() time.Time) (*auth.AccessClaims, error) {
	p := auth.NewTokenParser(auth.DefaultIssuer, auth.DefaultAudience, auth.DefaultLeeway, now)
	return p.Parse(token, func(kid string) (ed25519.PublicKey, error) {
		i := slices.IndexFunc(keys, func(k identity.PublicKey) bool { return k.ID == kid })
		if i < 0 {
			return nil, auth.ErrUnknownKey
		}
		return keys[i].Key, nil
	})
}

// mustParse verifies an access token or fails the test.
func (e *env) mustParse(t testing.TB, token string) *auth.AccessClaims {
	t.Helper()
	c, err := e.parse(t, token)
	if err != nil {
		t.Fatalf("parsing access token: %v", err)
	}
	return c
}

// userPrincipal is the principal of a user's access token.
func userPrincipal(u *identity.User) *auth.Principal {
	return &auth.Principal{Kind: auth.User, Subject: u.ID, Roles: u.Roles}
}

// topics returns the topics in the outbox, in order.
func (e *env) topics(t testing.TB) []string {
	t.Helper()
	events, err := e.store.DB().ReadEvents(t.Context(), 0, 10000)
	if err != nil {
		t.Fatalf("ReadEvents() = %v", err)
	}
	out := []string{}
	for _, ev := range events {
		out = append(out, ev.Topic)
	}
	return out
}

// wantErr fails the test unless err is a Bazaar error with the code and
// reason, and (when fields are given) exactly those field violations.
func wantErr(t testing.TB, call string, err error, code codes.Code, reason string, fields ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s = nil, want %v %s", call, code, reason)
		return
	}
	d := errs.FromError(errs.ToStatus(err).Err())
	if d.Code != code || d.Reason != reason {
		t.Errorf("%s = %v (code %v, reason %q), want %v %s", call, err, d.Code, d.Reason, code, reason)
		return
	}
	if len(fields) == 0 {
		return
	}
	got := []string{}
	for _, f := range d.FieldViolations {
		got = append(got, f.Field)
	}
	if !slices.Equal(got, fields) {
		t.Errorf("%s field violations = %v, want %v", call, got, fields)
	}
}

var _ io.Reader = (*switchableReader)(nil)
