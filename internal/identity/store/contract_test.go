package store_test

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bazaarhq/bazaar/internal/identity"
	"github.com/bazaarhq/bazaar/internal/identity/store"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb/sqldbtest"
)

func TestSQLite(t *testing.T) {
	t.Parallel()
	testContract(t, sqliteBackend())
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	testContract(t, postgresBackend(t))
}

// testContract is the behaviour identity.Store promises, on every engine.
// Each case opens its own store, so cases run in parallel.
func testContract(t *testing.T, b backend) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, st *store.Store)
	}{
		{"CreateAndReadUser", testCreateAndReadUser},
		{"CreateUserDuplicate", testCreateUserDuplicate},
		{"UpdateUser", testUpdateUser},
		{"UpdateUserFnErrorWritesNothing", testUpdateUserFnErrorWritesNothing},
		{"UpdateUserRevokesSessions", testUpdateUserRevokesSessions},
		{"UpdateUserConcurrentNoLostUpdate", testUpdateUserConcurrent},
		{"UpdateUserKeepRole", testUpdateUserKeepRole},
		{"UpdateUserKeepRoleConcurrent", testUpdateUserKeepRoleConcurrent},
		{"ListUsersOrderAndCursor", testListUsers},
		{"HasUserWithRole", testHasUserWithRole},
		{"SessionLifecycle", testSessionLifecycle},
		{"RotateConcurrentExactlyOneWins", testRotateConcurrent},
		{"RotateRacingRevoke", testRotateRacingRevoke},
		{"DeleteExpiredSessions", testDeleteExpiredSessions},
		{"SigningKeys", testSigningKeys},
		{"UpdateSigningKeysExclusive", testUpdateSigningKeysExclusive},
		{"APIKeys", testAPIKeys},
		{"Clients", testClients},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, b.open(t))
		})
	}
}

func testCreateAndReadUser(t *testing.T, st *store.Store) {
	ctx := t.Context()
	u := newUser(t, "ada@example.com", t0, "customer", "admin")
	slices.Sort(u.Roles)
	if err := st.CreateUser(ctx, u, event(identity.TopicUserRegistered, u.ID)); err != nil {
		t.Fatalf("CreateUser() = %v", err)
	}
	bare := mustCreateUser(t, st, newUser(t, "bob@example.com", t0))

	for _, tc := range []struct {
		name string
		get  func() (*identity.User, error)
		want *identity.User
	}{
		{"User", func() (*identity.User, error) { return st.User(ctx, u.ID) }, u},
		{"UserByEmail", func() (*identity.User, error) { return st.UserByEmail(ctx, u.Email) }, u},
		{"User without roles", func() (*identity.User, error) { return st.User(ctx, bare.ID) }, bare},
	} {
		got, err := tc.get()
		if err != nil {
			t.Fatalf("%s = %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", tc.name, diff)
		}
	}
	if _, err := st.User(ctx, "nobody"); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("User(nobody) = %v, want ErrNotFound", err)
	}
	if _, err := st.UserByEmail(ctx, "nobody@example.com"); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("UserByEmail(nobody) = %v, want ErrNotFound", err)
	}
	if got, want := topics(t, st), []string{identity.TopicUserRegistered}; !slices.Equal(got, want) {
		t.Errorf("outbox = %v, want %v", got, want)
	}
}

func testCreateUserDuplicate(t *testing.T, st *store.Store) {
	ctx := t.Context()
	u := mustCreateUser(t, st, newUser(t, "ada@example.com", t0, "customer"))
	sameEmail := newUser(t, "ada@example.com", t0)
	if err := st.CreateUser(ctx, sameEmail, event(identity.TopicUserRegistered, sameEmail.ID)); !errors.Is(err, identity.ErrDuplicate) {
		t.Errorf("CreateUser(same email) = %v, want ErrDuplicate", err)
	}
	sameID := newUser(t, "other@example.com", t0)
	sameID.ID = u.ID
	if err := st.CreateUser(ctx, sameID); !errors.Is(err, identity.ErrDuplicate) {
		t.Errorf("CreateUser(same id) = %v, want ErrDuplicate", err)
	}
	if got := topics(t, st); len(got) != 0 {
		t.Errorf("outbox after failed creates = %v, want empty", got)
	}
}

func testUpdateUser(t *testing.T, st *store.Store) {
	ctx := t.Context()
	u := mustCreateUser(t, st, newUser(t, "ada@example.com", t0, "customer"))
	got, err := st.UpdateUser(ctx, u.ID, func(u *identity.User) (identity.UserChange, error) {
		u.DisplayName = "Ada L."
		u.PasswordHash = "new-hash"
		u.Roles = []string{"admin", "support"}
		u.Email = "ignored@example.com" // immutable
		return identity.UserChange{Events: []identity.Event{event(identity.TopicUserUpdated, u.ID)}}, nil
	})
	if err != nil {
		t.Fatalf("UpdateUser() = %v", err)
	}
	want := *u
	want.DisplayName, want.PasswordHash, want.Roles = "Ada L.", "new-hash", []string{"admin", "support"}
	read, err := st.User(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&want, read); diff != "" {
		t.Errorf("User() after UpdateUser mismatch (-want +got):\n%s", diff)
	}
	if got.DisplayName != "Ada L." {
		t.Errorf("UpdateUser() returned %+v, want the updated user", got)
	}
	if got, want := topics(t, st), []string{identity.TopicUserUpdated}; !slices.Equal(got, want) {
		t.Errorf("outbox = %v, want %v", got, want)
	}
	_, err = st.UpdateUser(ctx, "nobody", func(*identity.User) (identity.UserChange, error) {
		t.Error("fn called for a missing user")
		return identity.UserChange{}, nil
	})
	if !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("UpdateUser(nobody) = %v, want ErrNotFound", err)
	}
}

func testUpdateUserFnErrorWritesNothing(t *testing.T, st *store.Store) {
	ctx := t.Context()
	u := mustCreateUser(t, st, newUser(t, "ada@example.com", t0, "customer"))
	errStop := errors.New("stop")
	_, err := st.UpdateUser(ctx, u.ID, func(u *identity.User) (identity.UserChange, error) {
		u.DisplayName = "changed"
		u.Roles = nil
		return identity.UserChange{Events: []identity.Event{event(identity.TopicUserUpdated, u.ID)}}, errStop
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("UpdateUser() = %v, want fn's error", err)
	}
	read, err := st.User(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(u, read); diff != "" {
		t.Errorf("user changed by a failed update (-want +got):\n%s", diff)
	}
	if got := topics(t, st); len(got) != 0 {
		t.Errorf("outbox = %v, want empty", got)
	}
}

func testUpdateUserRevokesSessions(t *testing.T, st *store.Store) {
	ctx := t.Context()
	ada := mustCreateUser(t, st, newUser(t, "ada@example.com", t0))
	bob := mustCreateUser(t, st, newUser(t, "bob@example.com", t0))
	adaSess, adaTok := newSession(t, ada, t0)
	adaOld, adaOldTok := newSession(t, ada, t0)
	bobSess, bobTok := newSession(t, bob, t0)
	for _, s := range []struct {
		s *identity.Session
		t *identity.RefreshToken
	}{{adaSess, adaTok}, {adaOld, adaOldTok}, {bobSess, bobTok}} {
		if err := st.CreateSession(ctx, s.s, s.t); err != nil {
			t.Fatal(err)
		}
	}
	earlier := t0.Add(time.Minute)
	if _, err := st.RevokeSession(ctx, adaOld.ID, earlier, identity.RevokedByLogout); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Hour)
	_, err := st.UpdateUser(ctx, ada.ID, func(*identity.User) (identity.UserChange, error) {
		return identity.UserChange{RevokeSessions: &identity.Revocation{Time: at, Reason: identity.RevokedByPasswordChange}}, nil
	})
	if err != nil {
		t.Fatalf("UpdateUser(RevokeSessions) = %v", err)
	}
	for _, tc := range []struct {
		tok        *identity.RefreshToken
		wantTime   time.Time
		wantReason string
	}{
		{adaTok, at, identity.RevokedByPasswordChange},
		{adaOldTok, earlier, identity.RevokedByLogout}, // already revoked: untouched
		{bobTok, time.Time{}, ""},                      // another user's
	} {
		_, sess, err := st.RefreshToken(ctx, tc.tok.Hash)
		if err != nil {
			t.Fatal(err)
		}
		if !sess.RevokeTime.Equal(tc.wantTime) || sess.RevokeReason != tc.wantReason {
			t.Errorf("session %s revoked at %v for %q, want %v for %q", sess.ID, sess.RevokeTime, sess.RevokeReason, tc.wantTime, tc.wantReason)
		}
	}
}

// testUpdateUserConcurrent runs read-modify-writes that each add one role:
// with proper locking none is lost.
func testUpdateUserConcurrent(t *testing.T, st *store.Store) {
	ctx := t.Context()
	u := mustCreateUser(t, st, newUser(t, "ada@example.com", t0))
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := st.UpdateUser(ctx, u.ID, func(u *identity.User) (identity.UserChange, error) {
				u.Roles = append(u.Roles, fmt.Sprintf("role-%d", i))
				slices.Sort(u.Roles)
				return identity.UserChange{}, nil
			})
			if err != nil {
				t.Errorf("UpdateUser() = %v", err)
			}
		})
	}
	wg.Wait()
	read, err := st.User(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(read.Roles) != n {
		t.Errorf("roles after %d concurrent additions = %v, want %d (an update was lost)", n, read.Roles, n)
	}
}

// setRoles returns an UpdateUser function that sets the roles, with keep as
// the role to keep held.
func setRoles(keep string, roles ...string) func(*identity.User) (identity.UserChange, error) {
	return func(u *identity.User) (identity.UserChange, error) {
		u.Roles = append([]string{}, roles...)
		return identity.UserChange{KeepRole: keep, Events: []identity.Event{event(identity.TopicUserRolesChanged, u.ID)}}, nil
	}
}

func testUpdateUserKeepRole(t *testing.T, st *store.Store) {
	ctx := t.Context()
	ada := mustCreateUser(t, st, newUser(t, "ada@example.com", t0, "admin", "customer"))
	bob := mustCreateUser(t, st, newUser(t, "bob@example.com", t0, "admin"))
	cyd := mustCreateUser(t, st, newUser(t, "cyd@example.com", t0, "customer"))
	for _, tc := range []struct {
		name    string
		user    *identity.User
		fn      func(*identity.User) (identity.UserChange, error)
		wantErr error
	}{
		{"a role the user keeps", ada, setRoles("admin", "admin", "support"), nil},
		{"a role the user lacks", cyd, setRoles("admin", "support"), nil},
		{"one of two holders", ada, setRoles("admin", "customer"), nil},
		{"the last holder", bob, setRoles("admin", "customer"), identity.ErrLastRoleHolder},
		{"the last holder, no KeepRole", cyd, setRoles("", "customer"), nil},
	} {
		before, err := st.User(ctx, tc.user.ID)
		if err != nil {
			t.Fatal(err)
		}
		events := len(topics(t, st))
		_, err = st.UpdateUser(ctx, tc.user.ID, tc.fn)
		if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
			t.Errorf("UpdateUser(%s) = %v, want %v", tc.name, err, tc.wantErr)
		}
		if tc.wantErr == nil {
			continue
		}
		after, err := st.User(ctx, tc.user.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("UpdateUser(%s) failed but changed the user (-before +after):\n%s", tc.name, diff)
		}
		if got := len(topics(t, st)); got != events {
			t.Errorf("UpdateUser(%s) failed but appended %d events", tc.name, got-events)
		}
	}
	for _, want := range []struct {
		u     *identity.User
		roles []string
	}{{ada, []string{"customer"}}, {bob, []string{"admin"}}, {cyd, []string{"customer"}}} {
		got, err := st.User(ctx, want.u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Roles, want.roles) {
			t.Errorf("%s has roles %v, want %v", got.Email, got.Roles, want.roles)
		}
	}
}

// testUpdateUserKeepRoleConcurrent demotes the last two holders of a role at
// once: with proper locking exactly one demotion wins and the role stays
// held. Each round uses its own role, so it starts with exactly two holders.
func testUpdateUserKeepRoleConcurrent(t *testing.T, st *store.Store) {
	ctx := t.Context()
	for round := range 5 {
		role := fmt.Sprintf("keeper-%d", round)
		holders := []*identity.User{
			mustCreateUser(t, st, newUser(t, fmt.Sprintf("a%d@example.com", round), t0, role)),
			mustCreateUser(t, st, newUser(t, fmt.Sprintf("b%d@example.com", round), t0, role)),
		}
		results := make([]error, len(holders))
		var wg sync.WaitGroup
		for i, u := range holders {
			wg.Go(func() {
				_, results[i] = st.UpdateUser(ctx, u.ID, func(u *identity.User) (identity.UserChange, error) {
					time.Sleep(5 * time.Millisecond) // widen the window a missing lock would leave
					return setRoles(role)(u)
				})
			})
		}
		wg.Wait()
		wins := 0
		for _, err := range results {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, identity.ErrLastRoleHolder):
				t.Errorf("UpdateUser(demote) = %v, want nil or ErrLastRoleHolder", err)
			}
		}
		has, err := st.HasUserWithRole(ctx, role)
		if err != nil {
			t.Fatal(err)
		}
		if !has || wins != 1 {
			t.Fatalf("round %d: %d of 2 concurrent demotions of the last two holders succeeded, role still held: %v; want 1 and true",
				round, wins, has)
		}
	}
}

func testListUsers(t *testing.T, st *store.Store) {
	ctx := t.Context()
	var want []*identity.User
	// Three share a create time: the id breaks the tie.
	for i, at := range []time.Time{t0.Add(2 * time.Second), t0, t0.Add(time.Second), t0.Add(time.Second), t0.Add(time.Second), t0.Add(time.Microsecond)} {
		u := newUser(t, fmt.Sprintf("user%d@example.com", i), at)
		if i%2 == 0 {
			u.Roles = []string{"customer"}
		}
		want = append(want, mustCreateUser(t, st, u))
	}
	slices.SortFunc(want, func(a, b *identity.User) int {
		if c := a.CreateTime.Compare(b.CreateTime); c != 0 {
			return c
		}
		return cmpString(a.ID, b.ID)
	})
	if _, err := st.ListUsers(ctx, identity.UserCursor{}, 0); err == nil {
		t.Errorf("ListUsers(limit 0) = nil error, want one")
	}
	for _, limit := range []int{1, 2, 4, 6, 10} {
		var got []*identity.User
		var after identity.UserCursor
		for range 10 {
			page, err := st.ListUsers(ctx, after, limit)
			if err != nil {
				t.Fatalf("ListUsers(%+v, %d) = %v", after, limit, err)
			}
			if len(page) > limit {
				t.Fatalf("ListUsers(limit %d) returned %d users", limit, len(page))
			}
			got = append(got, page...)
			if len(page) < limit {
				break
			}
			last := page[len(page)-1]
			after = identity.UserCursor{CreateTime: last.CreateTime, ID: last.ID}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("paging with limit %d mismatch (-want +got):\n%s", limit, diff)
		}
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testHasUserWithRole(t *testing.T, st *store.Store) {
	ctx := t.Context()
	has := func(role string) bool {
		t.Helper()
		ok, err := st.HasUserWithRole(ctx, role)
		if err != nil {
			t.Fatalf("HasUserWithRole(%s) = %v", role, err)
		}
		return ok
	}
	if has("admin") {
		t.Errorf("HasUserWithRole(admin) on an empty store = true")
	}
	mustCreateUser(t, st, newUser(t, "c@example.com", t0, "customer"))
	if has("admin") || !has("customer") {
		t.Errorf("HasUserWithRole(admin, customer) = %v, %v; want false, true", has("admin"), has("customer"))
	}
	mustCreateUser(t, st, newUser(t, "a@example.com", t0, "admin"))
	if !has("admin") {
		t.Errorf("HasUserWithRole(admin) after creating one = false")
	}
}

func testSessionLifecycle(t *testing.T, st *store.Store) {
	ctx := t.Context()
	u := mustCreateUser(t, st, newUser(t, "ada@example.com", t0))
	sess, first := newSession(t, u, t0)

	ghost, ghostTok := newSession(t, &identity.User{ID: "nobody"}, t0)
	if err := st.CreateSession(ctx, ghost, ghostTok); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("CreateSession(unknown user) = %v, want ErrNotFound", err)
	}
	if err := st.CreateSession(ctx, sess, first, event(identity.TopicSessionStarted, sess.ID)); err != nil {
		t.Fatalf("CreateSession() = %v", err)
	}
	gotTok, gotSess, err := st.RefreshToken(ctx, first.Hash)
	if err != nil {
		t.Fatalf("RefreshToken() = %v", err)
	}
	if diff := cmp.Diff(first, gotTok); diff != "" {
		t.Errorf("RefreshToken() token mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(sess, gotSess); diff != "" {
		t.Errorf("RefreshToken() session mismatch (-want +got):\n%s", diff)
	}
	if _, _, err := st.RefreshToken(ctx, []byte("unknown")); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("RefreshToken(unknown) = %v, want ErrNotFound", err)
	}

	// Rotate: the first token is spent, the second lives.
	at := t0.Add(time.Hour)
	second := newToken(t, sess, at)
	if err := st.RotateRefreshToken(ctx, first.Hash, at, second, event(identity.TopicSessionRefreshed, sess.ID)); err != nil {
		t.Fatalf("RotateRefreshToken() = %v", err)
	}
	if tok, _, _ := st.RefreshToken(ctx, first.Hash); !tok.UseTime.Equal(at) {
		t.Errorf("spent token UseTime = %v, want %v", tok.UseTime, at)
	}
	if tok, _, err := st.RefreshToken(ctx, second.Hash); err != nil || !tok.UseTime.IsZero() {
		t.Errorf("RefreshToken(second) = %+v, %v; want an unused token", tok, err)
	}
	// Spending it again conflicts and writes nothing.
	third := newToken(t, sess, at)
	if err := st.RotateRefreshToken(ctx, first.Hash, at, third, event(identity.TopicSessionRefreshed, sess.ID)); !errors.Is(err, identity.ErrConflict) {
		t.Errorf("RotateRefreshToken(spent) = %v, want ErrConflict", err)
	}
	if _, _, err := st.RefreshToken(ctx, third.Hash); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("token of a conflicting rotation was stored: %v", err)
	}
	if err := st.RotateRefreshToken(ctx, []byte("unknown"), at, third); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("RotateRefreshToken(unknown) = %v, want ErrNotFound", err)
	}

	// Revoke: once, then a no-op; rotation in a revoked session conflicts.
	revokeAt := t0.Add(2 * time.Hour)
	for i, want := range []bool{true, false} {
		got, err := st.RevokeSession(ctx, sess.ID, revokeAt.Add(time.Duration(i)*time.Minute), identity.RevokedByLogout,
			event(identity.TopicSessionRevoked, sess.ID))
		if err != nil || got != want {
			t.Errorf("RevokeSession() #%d = %v, %v; want %v, nil", i+1, got, err, want)
		}
	}
	if _, err := st.RevokeSession(ctx, "nosuch", revokeAt, identity.RevokedByLogout); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("RevokeSession(unknown) = %v, want ErrNotFound", err)
	}
	_, gotSess, _ = st.RefreshToken(ctx, second.Hash)
	if !gotSess.RevokeTime.Equal(revokeAt) || gotSess.RevokeReason != identity.RevokedByLogout {
		t.Errorf("revoked session = %+v, want revoked at %v by logout", gotSess, revokeAt)
	}
	if err := st.RotateRefreshToken(ctx, second.Hash, revokeAt, newToken(t, sess, revokeAt)); !errors.Is(err, identity.ErrConflict) {
		t.Errorf("RotateRefreshToken(revoked session) = %v, want ErrConflict", err)
	}
	want := []string{identity.TopicSessionStarted, identity.TopicSessionRefreshed, identity.TopicSessionRevoked}
	if got := topics(t, st); !slices.Equal(got, want) {
		t.Errorf("outbox = %v, want %v", got, want)
	}
}

func testRotateConcurrent(t *testing.T, st *store.Store) {
	ctx := t.Context()
	u := mustCreateUser(t, st, newUser(t, "ada@example.com", t0))
	sess, first := newSession(t, u, t0)
	if err := st.CreateSession(ctx, sess, first); err != nil {
		t.Fatal(err)
	}
	const n = 8
	results := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i] = st.RotateRefreshToken(ctx, first.Hash, t0.Add(time.Minute), newToken(t, sess, t0))
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range results {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, identity.ErrConflict):
			t.Errorf("RotateRefreshToken() = %v, want nil or ErrConflict", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d of %d concurrent rotations of one token succeeded, want exactly 1", wins, n)
	}
}

// testRotateRacingRevoke races a rotation with a revocation of the same
// session: whichever wins, no live refresh token may survive in the
// revoked session.
func testRotateRacingRevoke(t *testing.T, st *store.Store) {
	ctx := t.Context()
	u := mustCreateUser(t, st, newUser(t, "ada@example.com", t0))
	for range 5 {
		sess, first := newSession(t, u, t0)
		if err := st.CreateSession(ctx, sess, first); err != nil {
			t.Fatal(err)
		}
		next := newToken(t, sess, t0)
		var wg sync.WaitGroup
		var rotErr, revErr error
		wg.Go(func() { rotErr = st.RotateRefreshToken(ctx, first.Hash, t0, next) })
		wg.Go(func() { _, revErr = st.RevokeSession(ctx, sess.ID, t0, identity.RevokedByLogout) })
		wg.Wait()
		if revErr != nil || (rotErr != nil && !errors.Is(rotErr, identity.ErrConflict)) {
			t.Fatalf("rotate = %v, revoke = %v", rotErr, revErr)
		}
		if rotErr == nil {
			_, s, err := st.RefreshToken(ctx, next.Hash)
			if err != nil || !s.Revoked() {
				t.Errorf("token minted by a rotation racing a revocation: session %+v, %v; want revoked", s, err)
			}
		}
	}
}

func testDeleteExpiredSessions(t *testing.T, st *store.Store) {
	ctx := t.Context()
	u := mustCreateUser(t, st, newUser(t, "ada@example.com", t0))
	old, oldTok := newSession(t, u, t0)
	oldTok.ExpireTime = t0.Add(time.Hour)
	live, liveTok := newSession(t, u, t0)
	for _, p := range []struct {
		s  *identity.Session
		tk *identity.RefreshToken
	}{{old, oldTok}, {live, liveTok}} {
		if err := st.CreateSession(ctx, p.s, p.tk); err != nil {
			t.Fatal(err)
		}
	}
	n, err := st.DeleteExpiredSessions(ctx, t0.Add(2*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpiredSessions() = %d, %v; want 1, nil", n, err)
	}
	if _, _, err := st.RefreshToken(ctx, oldTok.Hash); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("expired token still stored: %v", err)
	}
	if _, err := st.RevokeSession(ctx, old.ID, t0, "x"); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("session without tokens still stored: %v", err)
	}
	if _, _, err := st.RefreshToken(ctx, liveTok.Hash); err != nil {
		t.Errorf("live token deleted: %v", err)
	}
}

func newKey(t testing.TB, activate time.Time) *identity.SigningKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := priv.Public().(ed25519.PublicKey)
	return &identity.SigningKey{
		ID: identity.KeyThumbprint(pub), Private: priv, CreateTime: t0, ActivateTime: activate,
		RetireTime: activate.Add(24 * time.Hour), ExpireTime: activate.Add(25 * time.Hour),
	}
}

func testSigningKeys(t *testing.T, st *store.Store) {
	ctx := t.Context()
	k1, k2, k3 := newKey(t, t0), newKey(t, t0.Add(24*time.Hour)), newKey(t, t0.Add(48*time.Hour))
	err := st.UpdateSigningKeys(ctx, func(keys []*identity.SigningKey) (identity.KeyChange, error) {
		if len(keys) != 0 {
			t.Errorf("keys of an empty store = %v", keys)
		}
		return identity.KeyChange{Create: []*identity.SigningKey{k2, k1, k3}, Events: []identity.Event{event(identity.TopicSigningKeyPublished, k1.ID)}}, nil
	})
	if err != nil {
		t.Fatalf("UpdateSigningKeys(create) = %v", err)
	}
	got, err := st.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*identity.SigningKey{k1, k2, k3}, got); diff != "" {
		t.Errorf("SigningKeys() mismatch, want ordered by activation (-want +got):\n%s", diff)
	}
	errStop := errors.New("stop")
	err = st.UpdateSigningKeys(ctx, func([]*identity.SigningKey) (identity.KeyChange, error) {
		return identity.KeyChange{Delete: []string{k1.ID, k2.ID, k3.ID}}, errStop
	})
	if !errors.Is(err, errStop) {
		t.Errorf("UpdateSigningKeys(fn error) = %v, want it", err)
	}
	k2.RetireTime, k2.ExpireTime = k2.RetireTime.Add(time.Hour), k2.ExpireTime.Add(time.Hour)
	err = st.UpdateSigningKeys(ctx, func([]*identity.SigningKey) (identity.KeyChange, error) {
		return identity.KeyChange{Delete: []string{k1.ID}, Reschedule: []*identity.SigningKey{k2}}, nil
	})
	if err != nil {
		t.Fatalf("UpdateSigningKeys(delete, reschedule) = %v", err)
	}
	got, err = st.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*identity.SigningKey{k2, k3}, got); diff != "" {
		t.Errorf("SigningKeys() after delete/reschedule mismatch (-want +got):\n%s", diff)
	}
	if got, want := topics(t, st), []string{identity.TopicSigningKeyPublished}; !slices.Equal(got, want) {
		t.Errorf("outbox = %v, want %v", got, want)
	}
}

// testUpdateSigningKeysExclusive runs concurrent "create a key if there is
// none": exclusion means exactly one key results.
func testUpdateSigningKeysExclusive(t *testing.T, st *store.Store) {
	ctx := t.Context()
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			err := st.UpdateSigningKeys(ctx, func(keys []*identity.SigningKey) (identity.KeyChange, error) {
				if len(keys) > 0 {
					return identity.KeyChange{}, nil
				}
				time.Sleep(5 * time.Millisecond) // widen the window a missing lock would leave
				return identity.KeyChange{Create: []*identity.SigningKey{newKey(t, t0)}}, nil
			})
			if err != nil {
				t.Errorf("UpdateSigningKeys() = %v", err)
			}
		})
	}
	wg.Wait()
	keys, err := st.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 {
		t.Errorf("concurrent create-if-none made %d keys, want 1", len(keys))
	}
}

func testAPIKeys(t *testing.T, st *store.Store) {
	ctx := t.Context()
	ada := mustCreateUser(t, st, newUser(t, "ada@example.com", t0))
	bob := mustCreateUser(t, st, newUser(t, "bob@example.com", t0))
	mk := func(u *identity.User, at time.Time, expire time.Time) *identity.APIKey {
		return &identity.APIKey{
			ID: "k-" + sqldbtest.RandomHex(t, 8), UserID: u.ID, Name: "ci", Prefix: "bzk_abcdefgh", Hash: randomBytes(t, 32),
			Scopes: []string{"catalog:read", "order:read"}, CreateTime: at, ExpireTime: expire,
		}
	}
	older, newer, other := mk(ada, t0, time.Time{}), mk(ada, t0.Add(time.Second), t0.Add(time.Hour)), mk(bob, t0, time.Time{})
	newer.Scopes = []string{}
	for _, k := range []*identity.APIKey{older, newer, other} {
		if err := st.CreateAPIKey(ctx, k, event(identity.TopicAPIKeyCreated, k.ID)); err != nil {
			t.Fatalf("CreateAPIKey() = %v", err)
		}
	}
	dup := mk(ada, t0, time.Time{})
	dup.Hash = older.Hash
	if err := st.CreateAPIKey(ctx, dup); !errors.Is(err, identity.ErrDuplicate) {
		t.Errorf("CreateAPIKey(same hash) = %v, want ErrDuplicate", err)
	}
	if err := st.CreateAPIKey(ctx, mk(&identity.User{ID: "nobody"}, t0, time.Time{})); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("CreateAPIKey(unknown user) = %v, want ErrNotFound", err)
	}
	got, err := st.APIKeyByHash(ctx, newer.Hash)
	if err != nil {
		t.Fatalf("APIKeyByHash() = %v", err)
	}
	if diff := cmp.Diff(newer, got); diff != "" {
		t.Errorf("APIKeyByHash() mismatch (-want +got):\n%s", diff)
	}
	if _, err := st.APIKeyByHash(ctx, []byte("nope")); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("APIKeyByHash(unknown) = %v, want ErrNotFound", err)
	}
	list, err := st.APIKeys(ctx, ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*identity.APIKey{newer, older}, list); diff != "" {
		t.Errorf("APIKeys(ada) mismatch, want newest first (-want +got):\n%s", diff)
	}
	if list, err := st.APIKeys(ctx, "nobody"); err != nil || len(list) != 0 {
		t.Errorf("APIKeys(nobody) = %v, %v; want empty", list, err)
	}

	revokeAt := t0.Add(time.Minute)
	updated, err := st.UpdateAPIKey(ctx, older.ID, func(k *identity.APIKey) ([]identity.Event, error) {
		k.RevokeTime = revokeAt
		return []identity.Event{event(identity.TopicAPIKeyRevoked, k.ID)}, nil
	})
	if err != nil || !updated.RevokeTime.Equal(revokeAt) {
		t.Fatalf("UpdateAPIKey() = %+v, %v", updated, err)
	}
	if got, _ := st.APIKeyByHash(ctx, older.Hash); !got.RevokeTime.Equal(revokeAt) {
		t.Errorf("revoke time not stored: %+v", got)
	}
	if _, err := st.UpdateAPIKey(ctx, "nosuch", func(*identity.APIKey) ([]identity.Event, error) { return nil, nil }); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("UpdateAPIKey(unknown) = %v, want ErrNotFound", err)
	}
	errStop := errors.New("stop")
	if _, err := st.UpdateAPIKey(ctx, other.ID, func(k *identity.APIKey) ([]identity.Event, error) {
		k.RevokeTime = revokeAt
		return nil, errStop
	}); !errors.Is(err, errStop) {
		t.Errorf("UpdateAPIKey(fn error) = %v, want it", err)
	}
	if got, _ := st.APIKeyByHash(ctx, other.Hash); !got.RevokeTime.IsZero() {
		t.Errorf("failed update was written: %+v", got)
	}
	want := []string{identity.TopicAPIKeyCreated, identity.TopicAPIKeyCreated, identity.TopicAPIKeyCreated, identity.TopicAPIKeyRevoked}
	if got := topics(t, st); !slices.Equal(got, want) {
		t.Errorf("outbox = %v, want %v", got, want)
	}
}

func testClients(t *testing.T, st *store.Store) {
	ctx := t.Context()
	c := &identity.Client{ID: "cl_1", Name: "warehouse", SecretHash: randomBytes(t, 32), Scopes: []string{"catalog:write", "order:read"}, CreateTime: t0}
	if err := st.CreateClient(ctx, c, event(identity.TopicClientCreated, c.ID)); err != nil {
		t.Fatalf("CreateClient() = %v", err)
	}
	got, err := st.Client(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("Client() mismatch (-want +got):\n%s", diff)
	}
	if err := st.CreateClient(ctx, c); !errors.Is(err, identity.ErrDuplicate) {
		t.Errorf("CreateClient(same id) = %v, want ErrDuplicate", err)
	}
	if _, err := st.Client(ctx, "cl_none"); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("Client(unknown) = %v, want ErrNotFound", err)
	}
	if got, want := topics(t, st), []string{identity.TopicClientCreated}; !slices.Equal(got, want) {
		t.Errorf("outbox = %v, want %v", got, want)
	}
}
