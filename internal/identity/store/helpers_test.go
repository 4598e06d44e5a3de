package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/identity"
	"github.com/bazaarhq/bazaar/internal/identity/store"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// backend opens fresh, isolated identity stores on one engine.
type backend struct {
	name string
	open func(t testing.TB) *store.Store
}

func sqliteBackend() backend {
	return backend{name: "sqlite", open: func(t testing.TB) *store.Store {
		return openStore(t, "sqlite://"+filepath.Join(t.TempDir(), "identity.db"))
	}}
}

// postgresURL returns the test server's URL, skipping the test when none is
// configured (failing instead under CI, where a missing server is a bug).
func postgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("BAZAAR_TEST_POSTGRES_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("BAZAAR_TEST_POSTGRES_URL is not set, and CI=true requires the Postgres tests to run")
		}
		t.Skip("BAZAAR_TEST_POSTGRES_URL is not set; skipping Postgres tests")
	}
	return u
}

// postgresBackend isolates each store in a random schema, dropped when the
// test ends, so tests run in parallel against one server.
func postgresBackend(baseURL string) backend {
	return backend{name: "postgres", open: func(t testing.TB) *store.Store {
		schema := "identity_test_" + randomHex(t, 6)
		// Registered before the store is opened, so it runs after the store
		// is closed.
		t.Cleanup(func() { dropSchema(t, baseURL, schema) })
		return openStore(t, baseURL, sqldb.WithSchema(schema), sqldb.WithMaxConns(8))
	}}
}

func openStore(t testing.TB, url string, opts ...sqldb.Option) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), url, opts...)
	if err != nil {
		t.Fatalf("store.Open(%s) = %v", url, err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("store.Close() = %v", err)
		}
	})
	return st
}

func dropSchema(t testing.TB, baseURL, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := sqldb.Open(ctx, baseURL, sqldb.WithMaxConns(1))
	if err != nil {
		t.Errorf("cleanup: open: %v", err)
		return
	}
	defer func() { _ = db.Close() }()
	if _, err := db.Writer().ExecContext(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
		t.Errorf("cleanup: drop schema %s: %v", schema, err)
	}
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("rand: %v", err)
	}
	return hex.EncodeToString(b)
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("rand: %v", err)
	}
	return b
}

// t0 is the fixtures' reference time: UTC, at the microsecond precision
// both engines keep.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

func newUser(t testing.TB, email string, created time.Time, roles ...string) *identity.User {
	t.Helper()
	if roles == nil {
		roles = []string{}
	}
	return &identity.User{
		ID: "u-" + randomHex(t, 8), Email: email, DisplayName: "User " + email,
		PasswordHash: identity.PasswordHash("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5"),
		Roles:        roles, CreateTime: created,
	}
}

func mustCreateUser(t testing.TB, st *store.Store, u *identity.User) *identity.User {
	t.Helper()
	if err := st.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%s) = %v", u.Email, err)
	}
	return u
}

// newSession makes a session of u with its first refresh token.
func newSession(t testing.TB, u *identity.User, created time.Time) (*identity.Session, *identity.RefreshToken) {
	t.Helper()
	s := &identity.Session{ID: "s-" + randomHex(t, 8), UserID: u.ID, CreateTime: created}
	return s, newToken(t, s, created)
}

func newToken(t testing.TB, s *identity.Session, created time.Time) *identity.RefreshToken {
	t.Helper()
	return &identity.RefreshToken{
		Hash: randomBytes(t, 32), SessionID: s.ID, CreateTime: created, ExpireTime: created.Add(30 * 24 * time.Hour),
	}
}

// topics returns the topics in the store's outbox, in order.
func topics(t testing.TB, st *store.Store) []string {
	t.Helper()
	events, err := st.DB().ReadEvents(t.Context(), 0, 1000)
	if err != nil {
		t.Fatalf("ReadEvents() = %v", err)
	}
	out := []string{}
	for _, e := range events {
		out = append(out, e.Topic)
	}
	return out
}

func event(topic, aggregate string) identity.Event {
	return identity.Event{Topic: topic, AggregateID: aggregate, Payload: []byte(`{}`)}
}
