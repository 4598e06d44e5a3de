package identity_test

import (
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/bazaarhq/bazaar/internal/identity"
	"github.com/bazaarhq/bazaar/internal/identity/store"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

func TestLoginIssuesVerifiableTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.register(t, "ada@example.com")
	got, pair, err := e.svc.Login(t.Context(), "  ADA@example.com ", strongPassword)
	if err != nil {
		t.Fatalf("Login() = %v", err)
	}
	if got.ID != u.ID {
		t.Errorf("Login() user = %s, want %s", got.ID, u.ID)
	}
	now := e.clock.Now()
	c := e.mustParse(t, pair.AccessToken)
	if c.Subject != u.ID || c.Kind != "user" || !slices.Equal(c.Roles, []string{identity.RoleCustomer}) || c.ID == "" {
		t.Errorf("claims = sub %q kind %q roles %v jti %q; want sub %s, user, [customer], a jti", c.Subject, c.Kind, c.Roles, c.ID, u.ID)
	}
	if !c.ExpiresAt.Equal(now.Add(identity.DefaultAccessTokenTTL)) || !pair.AccessTokenExpireTime.Equal(c.ExpiresAt.Time) {
		t.Errorf("exp = %v, reported %v; want %v", c.ExpiresAt, pair.AccessTokenExpireTime, now.Add(identity.DefaultAccessTokenTTL))
	}
	if p := c.Principal(); p.Kind != auth.User || p.Subject != u.ID {
		t.Errorf("Principal() = %+v", p)
	}
	if !strings.HasPrefix(pair.RefreshToken, "bzr_") || len(pair.RefreshToken) != 47 {
		t.Errorf("refresh token = %q, want bzr_ and 43 base64url characters", pair.RefreshToken)
	}
	if !pair.RefreshTokenExpireTime.Equal(now.Add(identity.DefaultRefreshTokenTTL)) {
		t.Errorf("refresh token expires %v, want %v", pair.RefreshTokenExpireTime, now.Add(identity.DefaultRefreshTokenTTL))
	}
	// A refresh token is never an access token.
	if _, err := e.parse(t, pair.RefreshToken); err == nil {
		t.Errorf("the refresh token parsed as an access token")
	}
	// Two logins, two sessions, distinct tokens.
	if other := e.login(t, "ada@example.com"); other.RefreshToken == pair.RefreshToken || other.AccessToken == pair.AccessToken {
		t.Errorf("two logins returned the same tokens")
	}
}

func TestLoginFailuresAreIndistinguishable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.register(t, "ada@example.com")
	_, _, wrongPassword := e.svc.Login(t.Context(), "ada@example.com", "not the password 1")
	_, _, unknownEmail := e.svc.Login(t.Context(), "nobody@example.com", strongPassword)
	for name, err := range map[string]error{"wrong password": wrongPassword, "unknown email": unknownEmail} {
		wantErr(t, "Login("+name+")", err, codes.Unauthenticated, identity.ReasonInvalidCredentials)
	}
	a, b := errs.FromError(errs.ToStatus(wrongPassword).Err()), errs.FromError(errs.ToStatus(unknownEmail).Err())
	if a.String() != b.String() {
		t.Errorf("the answers differ:\n%v\n%v", a, b)
	}
	_, _, err := e.svc.Login(t.Context(), " \t ", strongPassword)
	wantErr(t, "Login(blank email)", err, codes.InvalidArgument, identity.ReasonEmailInvalid, "email")
	if got := e.topics(t); !slices.Equal(got, []string{identity.TopicUserRegistered}) {
		t.Errorf("outbox = %v, want no session events", got)
	}
}

// TestLoginUnknownEmailSpendsAHash checks that a login for an unknown email
// does the work a wrong password does: without the dummy hash it would be a
// thousand times faster, telling an attacker which emails exist. Argon2id's
// cost is its memory, so the check counts bytes allocated, not time (timing
// a unit test is flaky on a shared machine). It is not parallel, so no other
// test allocates meanwhile.
func TestLoginUnknownEmailSpendsAHash(t *testing.T) { //nolint:paralleltest // measures the process's allocations
	const memoryKiB = 32 * 1024
	slow := identity.Argon2Params{Memory: memoryKiB, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	e := newEnv(t, withConfig(func(c *identity.Config) { c.Argon2 = slow }))
	e.register(t, "ada@example.com")
	allocated := func(email string) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, _, err := e.svc.Login(t.Context(), email, "not the password 1"); err == nil {
			t.Fatal("Login() succeeded")
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	const hashBytes = memoryKiB * 1024
	for _, email := range []string{"ada@example.com", "nobody@example.com"} {
		if got := allocated(email); got < hashBytes {
			t.Errorf("Login(%s, wrong password) allocated %d bytes, want at least one argon2id hash (%d)", email, got, hashBytes)
		}
	}
}

func TestLoginRehashesWeakerHashes(t *testing.T) {
	t.Parallel()
	st := openSQLite(t)
	old := newEnvOn(t, st)
	u := old.register(t, "ada@example.com")
	stronger := identity.Argon2Params{Memory: 128, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	upgraded := newEnvOn(t, st, withConfig(func(c *identity.Config) { c.Argon2 = stronger }))

	upgraded.login(t, "ada@example.com")
	got, err := upgraded.svc.User(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if params, _, _, err := identity.ParsePasswordHash(got.PasswordHash); err != nil || params != stronger {
		t.Errorf("hash after login has %+v, %v; want re-hashed with %+v", params, err, stronger)
	}
	upgraded.login(t, "ada@example.com") // the new hash verifies
	// The weaker configuration does not downgrade it.
	old.login(t, "ada@example.com")
	if again, _ := old.svc.User(t.Context(), u.ID); again.PasswordHash != got.PasswordHash {
		t.Errorf("a login under weaker parameters changed the hash")
	}
}

func TestRefreshRotatesAndDetectsReuse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	e.register(t, "ada@example.com")
	first := e.login(t, "ada@example.com")

	e.clock.Advance(10 * time.Minute)
	second, err := e.svc.Refresh(ctx, first.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh(first) = %v", err)
	}
	if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Errorf("Refresh() returned the tokens it was given")
	}
	if !second.RefreshTokenExpireTime.Equal(e.clock.Now().Add(identity.DefaultRefreshTokenTTL)) {
		t.Errorf("new refresh token expires %v, want 30 days from now", second.RefreshTokenExpireTime)
	}
	e.mustParse(t, second.AccessToken)
	third, err := e.svc.Refresh(ctx, second.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh(second) = %v", err)
	}

	// The first token again: a reuse. The session dies, newest token too.
	_, err = e.svc.Refresh(ctx, first.RefreshToken)
	wantErr(t, "Refresh(spent token)", err, codes.Unauthenticated, identity.ReasonRefreshTokenReused)
	_, err = e.svc.Refresh(ctx, third.RefreshToken)
	wantErr(t, "Refresh(newest token of a revoked session)", err, codes.Unauthenticated, identity.ReasonSessionRevoked)
	// Another session of the same user is unaffected.
	other := e.login(t, "ada@example.com")
	if _, err := e.svc.Refresh(ctx, other.RefreshToken); err != nil {
		t.Errorf("Refresh(other session) = %v", err)
	}

	want := []string{
		identity.TopicUserRegistered, identity.TopicSigningKeyPublished, identity.TopicSigningKeyPublished,
		identity.TopicSessionStarted, identity.TopicSessionRefreshed, identity.TopicSessionRefreshed,
		identity.TopicSessionRevoked, identity.TopicSessionStarted, identity.TopicSessionRefreshed,
	}
	if got := e.topics(t); !slices.Equal(got, want) {
		t.Errorf("outbox = %v, want %v", got, want)
	}
}

func TestRefreshRefusesDeadTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	e.register(t, "ada@example.com")
	pair := e.login(t, "ada@example.com")
	for name, tok := range map[string]string{
		"empty":      "",
		"garbage":    "garbage",
		"unknown":    "bzr_" + strings.Repeat("A", 43),
		"api key":    "bzk_" + pair.RefreshToken[4:],
		"truncated":  pair.RefreshToken[:46],
		"access jwt": pair.AccessToken,
	} {
		_, err := e.svc.Refresh(ctx, tok)
		wantErr(t, "Refresh("+name+")", err, codes.Unauthenticated, identity.ReasonRefreshTokenInvalid)
	}
	e.clock.Advance(identity.DefaultRefreshTokenTTL)
	_, err := e.svc.Refresh(ctx, pair.RefreshToken)
	wantErr(t, "Refresh(expired)", err, codes.Unauthenticated, identity.ReasonRefreshTokenExpired)
}

func TestConcurrentRefreshExactlyOneWins(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]func(testing.TB) *store.Store{"sqlite": openSQLite, "postgres": openPostgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnvOn(t, open(t))
			e.register(t, "ada@example.com")
			for range 5 {
				pair := e.login(t, "ada@example.com")
				var wg sync.WaitGroup
				results := make([]*identity.TokenPair, 2)
				failures := make([]error, 2)
				for i := range 2 {
					wg.Go(func() { results[i], failures[i] = e.svc.Refresh(t.Context(), pair.RefreshToken) })
				}
				wg.Wait()
				winner := slices.IndexFunc(failures, func(err error) bool { return err == nil })
				if winner < 0 || failures[1-winner] == nil {
					t.Fatalf("concurrent Refresh() = %v, %v; want exactly one success", failures[0], failures[1])
				}
				wantErr(t, "Refresh(loser)", failures[1-winner], codes.Unauthenticated, identity.ReasonRefreshTokenReused)
				// The loser's reuse ended the session, the winner's new token included.
				_, err := e.svc.Refresh(t.Context(), results[winner].RefreshToken)
				wantErr(t, "Refresh(winner's token)", err, codes.Unauthenticated, identity.ReasonSessionRevoked)
			}
		})
	}
}

func TestRoleChangesTakeEffectAtRefresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.register(t, "ada@example.com")
	pair := e.login(t, "ada@example.com")
	if _, err := e.svc.SetUserRoles(t.Context(), u.ID, []string{"admin", "customer"}); err != nil {
		t.Fatal(err)
	}
	if c := e.mustParse(t, pair.AccessToken); slices.Contains(c.Roles, "admin") {
		t.Fatalf("the old access token has roles %v", c.Roles)
	}
	next, err := e.svc.Refresh(t.Context(), pair.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if c := e.mustParse(t, next.AccessToken); !slices.Equal(c.Roles, []string{"admin", "customer"}) {
		t.Errorf("roles after refresh = %v, want [admin customer]", c.Roles)
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	e.register(t, "ada@example.com")
	first := e.login(t, "ada@example.com")
	second, err := e.svc.Refresh(ctx, first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	kept := e.login(t, "ada@example.com")
	// Any token of the session ends it, even a spent one.
	if err := e.svc.Logout(ctx, first.RefreshToken); err != nil {
		t.Fatalf("Logout() = %v", err)
	}
	_, err = e.svc.Refresh(ctx, second.RefreshToken)
	wantErr(t, "Refresh(after logout)", err, codes.Unauthenticated, identity.ReasonSessionRevoked)
	for name, tok := range map[string]string{"again": second.RefreshToken, "unknown": "bzr_" + strings.Repeat("B", 43), "garbage": "x"} {
		if err := e.svc.Logout(ctx, tok); err != nil {
			t.Errorf("Logout(%s) = %v, want nil", name, err)
		}
	}
	if _, err := e.svc.Refresh(ctx, kept.RefreshToken); err != nil {
		t.Errorf("Refresh(another session) = %v", err)
	}
	if n := strings.Count(strings.Join(e.topics(t), " "), identity.TopicSessionRevoked); n != 1 {
		t.Errorf("%d revocation events, want 1", n)
	}
}
