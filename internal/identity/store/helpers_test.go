package store_test

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/identity"
	"github.com/bazaarhq/bazaar/internal/identity/store"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb/sqldbtest"
)

// backend opens fresh, isolated identity stores on one engine.
type backend struct {
	name string
	open func(t testing.TB) *store.Store
}

func sqliteBackend() backend { return backendOn(sqldbtest.SQLite()) }

// postgresBackend isolates each store in a random schema of the test
// server; it skips without a server (fails under CI).
func postgresBackend(t testing.TB) backend { return backendOn(sqldbtest.Postgres(t)) }

func backendOn(b sqldbtest.Backend) backend {
	return backend{name: b.Name, open: func(t testing.TB) *store.Store {
		tg := b.Fresh(t, "identity")
		return openStore(t, tg.URL, tg.Options...)
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
		ID: "u-" + sqldbtest.RandomHex(t, 8), Email: email, DisplayName: "User " + email,
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
	s := &identity.Session{ID: "s-" + sqldbtest.RandomHex(t, 8), UserID: u.ID, CreateTime: created}
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
