package identity_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/bazaarhq/bazaar/internal/identity"
	"github.com/bazaarhq/bazaar/internal/identity/store"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

func TestRegister(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	u, err := e.svc.Register(ctx, identity.Registration{Email: "  Ada.Lovelace@Example.COM ", Password: strongPassword, DisplayName: " Ada "})
	if err != nil {
		t.Fatalf("Register() = %v", err)
	}
	if u.Email != "ada.lovelace@example.com" || u.DisplayName != "Ada" || !slices.Equal(u.Roles, []string{identity.RoleCustomer}) {
		t.Errorf("Register() = %+v, want email ada.lovelace@example.com, name Ada, roles [customer]", u)
	}
	if !u.CreateTime.Equal(e.clock.Now()) {
		t.Errorf("CreateTime = %v, want the clock's %v", u.CreateTime, e.clock.Now())
	}
	stored, err := e.svc.User(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The stored hash is argon2id with the configured parameters.
	params, _, _, err := identity.ParsePasswordHash(stored.PasswordHash)
	if err != nil || params != tinyArgon2 {
		t.Errorf("stored hash parameters = %+v, %v; want %+v", params, err, tinyArgon2)
	}
	if ok, _, _ := identity.VerifyPassword(stored.PasswordHash, strongPassword); !ok {
		t.Errorf("stored hash does not verify the password")
	}

	// The event carries the account, never the hash.
	events, err := e.store.DB().ReadEvents(ctx, 0, 10)
	if err != nil || len(events) != 1 || events[0].Topic != identity.TopicUserRegistered || events[0].AggregateID != u.ID {
		t.Fatalf("outbox = %+v, %v; want one %s event for %s", events, err, identity.TopicUserRegistered, u.ID)
	}
	var payload map[string]any
	if err := json.Unmarshal(events[0].Payload, &payload); err != nil {
		t.Fatal(err)
	}
	if payload["email"] != u.Email || payload["user_id"] != u.ID || len(payload) != 5 {
		t.Errorf("event payload = %v, want user_id, email, display_name, roles, create_time", payload)
	}
}

func TestRegisterDuplicateEmailInAnyCase(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.register(t, "ada@example.com")
	for _, email := range []string{"ada@example.com", "ADA@example.com", " Ada@Example.Com\t"} {
		_, err := e.svc.Register(t.Context(), identity.Registration{Email: email, Password: strongPassword})
		wantErr(t, fmt.Sprintf("Register(%q)", email), err, codes.AlreadyExists, identity.ReasonEmailTaken)
	}
	if got := e.topics(t); len(got) != 1 {
		t.Errorf("outbox = %v, want only the first registration", got)
	}
}

func TestRegisterValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		name   string
		r      identity.Registration
		reason string
		field  string
	}{
		{"blank email", identity.Registration{Email: "   ", Password: strongPassword}, identity.ReasonEmailInvalid, "email"},
		{"not an email", identity.Registration{Email: "ada", Password: strongPassword}, identity.ReasonEmailInvalid, "email"},
		{"display name form", identity.Registration{Email: "Ada <ada@example.com>", Password: strongPassword}, identity.ReasonEmailInvalid, "email"},
		{"no domain dot", identity.Registration{Email: "ada@localhost", Password: strongPassword}, identity.ReasonEmailInvalid, "email"},
		{"short password", identity.Registration{Email: "ada@example.com", Password: "Short1"}, identity.ReasonWeakPassword, "password"},
		{"one-class password", identity.Registration{Email: "ada@example.com", Password: "aaaaaaaaaaaaaaaa"}, identity.ReasonWeakPassword, "password"},
		{"control in name", identity.Registration{Email: "ada@example.com", Password: strongPassword, DisplayName: "A\x07da"}, identity.ReasonDisplayNameInvalid, "display_name"},
	} {
		_, err := e.svc.Register(t.Context(), tc.r)
		wantErr(t, "Register("+tc.name+")", err, codes.InvalidArgument, tc.reason, tc.field)
	}
	if got := e.topics(t); len(got) != 0 {
		t.Errorf("outbox = %v, want empty", got)
	}
}

func TestRegisterFailsCleanlyWithoutRandomness(t *testing.T) {
	t.Parallel()
	r := &switchableReader{}
	e := newEnv(t, withConfig(func(c *identity.Config) { c.Random = r }))
	r.broken.Store(true)
	_, err := e.svc.Register(t.Context(), identity.Registration{Email: "ada@example.com", Password: strongPassword})
	wantErr(t, "Register(broken random)", err, codes.Internal, "INTERNAL")
	r.broken.Store(false)
	e.register(t, "ada@example.com") // nothing was stored by the failed call
}

func TestListUsersPagesThroughEveryUserOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 120
	var want []string
	for i := range n {
		if i%7 == 0 {
			e.clock.Advance(time.Second) // runs of equal create times: the id breaks ties
		}
		want = append(want, e.register(t, fmt.Sprintf("user%03d@example.com", i)).ID)
	}
	var got []string
	var sizes []int
	token := ""
	for range 10 {
		page, err := e.svc.ListUsers(t.Context(), 50, token)
		if err != nil {
			t.Fatalf("ListUsers(50, %q) = %v", token, err)
		}
		sizes = append(sizes, len(page.Users))
		for _, u := range page.Users {
			got = append(got, u.ID)
		}
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	if !slices.Equal(sizes, []int{50, 50, 20}) {
		t.Errorf("page sizes = %v, want [50 50 20]", sizes)
	}
	// Registration order is (create time, id) order: ids are UUIDv7.
	if !slices.Equal(got, want) {
		t.Errorf("listed %d users, want each of the %d exactly once, oldest first", len(got), len(want))
	}
	page, err := e.svc.ListUsers(t.Context(), 0, "")
	if err != nil || len(page.Users) != identity.DefaultPageSize {
		t.Errorf("ListUsers(page size 0) = %d users, %v; want %d", len(page.Users), err, identity.DefaultPageSize)
	}
	page, err = e.svc.ListUsers(t.Context(), n, "")
	if err != nil || len(page.Users) != n || page.NextPageToken != "" {
		t.Errorf("ListUsers(%d) = %d users, token %q, %v; want all and no token", n, len(page.Users), page.NextPageToken, err)
	}
}

func TestListUsersRefusesBadPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := range 3 {
		e.register(t, fmt.Sprintf("user%d@example.com", i))
	}
	page, err := e.svc.ListUsers(t.Context(), 1, "")
	if err != nil || page.NextPageToken == "" {
		t.Fatalf("ListUsers(1) = %+v, %v", page, err)
	}
	for _, size := range []int{-1, identity.MaxPageSize + 1} {
		_, err := e.svc.ListUsers(t.Context(), size, "")
		wantErr(t, fmt.Sprintf("ListUsers(%d)", size), err, codes.InvalidArgument, identity.ReasonPageSizeInvalid, "page_size")
	}
	raw, err := base64.RawURLEncoding.DecodeString(page.NextPageToken)
	if err != nil {
		t.Fatal(err)
	}
	tampered := map[string]string{
		"garbage":   "not a token",
		"truncated": page.NextPageToken[:len(page.NextPageToken)-3],
		"extended":  page.NextPageToken + "AA",
	}
	for i := range raw { // every single-byte change
		b := slices.Clone(raw)
		b[i] ^= 0x01
		tampered[fmt.Sprintf("byte %d flipped", i)] = base64.RawURLEncoding.EncodeToString(b)
	}
	for name, tok := range tampered {
		_, err := e.svc.ListUsers(t.Context(), 1, tok)
		wantErr(t, "ListUsers("+name+" token)", err, codes.InvalidArgument, identity.ReasonPageTokenInvalid, "page_token")
	}
}

func TestUpdateMe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	u := e.register(t, "ada@example.com")
	me := userPrincipal(u)
	str := func(s string) *string { return &s }

	got, err := e.svc.UpdateMe(ctx, me, identity.UserUpdate{DisplayName: str("  Countess  ")})
	if err != nil || got.DisplayName != "Countess" {
		t.Fatalf("UpdateMe(display name) = %+v, %v; want Countess", got, err)
	}
	// An API key acts for its user too.
	viaKey := &auth.Principal{Kind: auth.APIKey, Subject: u.ID, APIKeyID: "k1"}
	if got, err := e.svc.UpdateMe(ctx, viaKey, identity.UserUpdate{DisplayName: str("Ada")}); err != nil || got.DisplayName != "Ada" {
		t.Errorf("UpdateMe(via API key) = %+v, %v", got, err)
	}

	for _, tc := range []struct {
		name   string
		p      *auth.Principal
		upd    identity.UserUpdate
		code   codes.Code
		reason string
		fields []string
	}{
		{"nothing", me, identity.UserUpdate{}, codes.InvalidArgument, identity.ReasonNothingToUpdate, []string{"update_mask"}},
		{"no current password", me, identity.UserUpdate{NewPassword: str("Another password 2")}, codes.InvalidArgument, identity.ReasonCurrentPasswordRequired, []string{"current_password"}},
		{"weak new password", me, identity.UserUpdate{NewPassword: str("weak"), CurrentPassword: strongPassword}, codes.InvalidArgument, identity.ReasonWeakPassword, []string{"new_password"}},
		{"wrong current password", me, identity.UserUpdate{NewPassword: str("Another password 2"), CurrentPassword: "wrong password 1"}, codes.PermissionDenied, identity.ReasonWrongPassword, []string{"current_password"}},
		{"bad display name", me, identity.UserUpdate{DisplayName: str(string(make([]rune, 101)))}, codes.InvalidArgument, identity.ReasonDisplayNameInvalid, []string{"display_name"}},
		{"client caller", &auth.Principal{Kind: auth.Client, Subject: "cl_1"}, identity.UserUpdate{DisplayName: str("x")}, codes.PermissionDenied, identity.ReasonUserRequired, nil},
		{"no caller", nil, identity.UserUpdate{DisplayName: str("x")}, codes.Unauthenticated, identity.ReasonCredentialsRequired, nil},
		{"gone user", &auth.Principal{Kind: auth.User, Subject: "gone"}, identity.UserUpdate{DisplayName: str("x")}, codes.NotFound, identity.ReasonUserNotFound, nil},
	} {
		_, err := e.svc.UpdateMe(ctx, tc.p, tc.upd)
		wantErr(t, "UpdateMe("+tc.name+")", err, tc.code, tc.reason, tc.fields...)
	}

	// A password change: the new password works, the old does not, and
	// every session ends.
	pair := e.login(t, "ada@example.com")
	const newPassword = "Another password 2"
	if _, err := e.svc.UpdateMe(ctx, me, identity.UserUpdate{NewPassword: str(newPassword), CurrentPassword: strongPassword}); err != nil {
		t.Fatalf("UpdateMe(password) = %v", err)
	}
	if _, _, err := e.svc.Login(ctx, "ada@example.com", newPassword); err != nil {
		t.Errorf("Login(new password) = %v", err)
	}
	_, _, err = e.svc.Login(ctx, "ada@example.com", strongPassword)
	wantErr(t, "Login(old password)", err, codes.Unauthenticated, identity.ReasonInvalidCredentials)
	_, err = e.svc.Refresh(ctx, pair.RefreshToken)
	wantErr(t, "Refresh(session before the password change)", err, codes.Unauthenticated, identity.ReasonSessionRevoked)

	want := []string{
		identity.TopicUserRegistered, identity.TopicUserUpdated, identity.TopicUserUpdated,
		// The first login finds no signing key and rotates: a current and a next key.
		identity.TopicSigningKeyPublished, identity.TopicSigningKeyPublished,
		identity.TopicSessionStarted, identity.TopicUserPasswordChanged, identity.TopicSessionStarted,
	}
	if got := e.topics(t); !slices.Equal(got, want) {
		t.Errorf("outbox = %v, want %v", got, want)
	}
}

func TestSetUserRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	u := e.register(t, "ada@example.com")
	got, err := e.svc.SetUserRoles(ctx, u.ID, []string{"support", "billing"})
	if err != nil || !slices.Equal(got.Roles, []string{"billing", "support"}) {
		t.Fatalf("SetUserRoles() = %+v, %v; want roles [billing support]", got, err)
	}
	if _, err := e.svc.SetUserRoles(ctx, u.ID, []string{"billing", "support"}); err != nil { // unchanged: no event
		t.Fatal(err)
	}
	if got, err := e.svc.SetUserRoles(ctx, u.ID, nil); err != nil || len(got.Roles) != 0 {
		t.Errorf("SetUserRoles(none) = %+v, %v", got, err)
	}
	for name, roles := range map[string][]string{
		"upper case": {"Admin"},
		"duplicate":  {"admin", "admin"},
		"too many":   {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q"},
	} {
		_, err := e.svc.SetUserRoles(ctx, u.ID, roles)
		wantErr(t, "SetUserRoles("+name+")", err, codes.InvalidArgument, identity.ReasonRolesInvalid, "roles")
	}
	_, err = e.svc.SetUserRoles(ctx, "nobody", []string{"admin"})
	wantErr(t, "SetUserRoles(nobody)", err, codes.NotFound, identity.ReasonUserNotFound)
	want := []string{identity.TopicUserRegistered, identity.TopicUserRolesChanged, identity.TopicUserRolesChanged}
	if got := e.topics(t); !slices.Equal(got, want) {
		t.Errorf("outbox = %v, want %v", got, want)
	}
}

// wantLastAdmin fails the test unless err is FAILED_PRECONDITION LAST_ADMIN
// with its PreconditionFailure.
func wantLastAdmin(t testing.TB, call string, err error) {
	t.Helper()
	wantErr(t, call, err, codes.FailedPrecondition, identity.ReasonLastAdmin)
	want := []*errdetails.PreconditionFailure_Violation{{Type: "ROLE", Subject: "admin", Description: "at least one user must keep the admin role"}}
	got := errs.FromError(errs.ToStatus(err).Err()).Preconditions
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("%s PreconditionFailure mismatch (-want +got):\n%s", call, diff)
	}
}

func TestSetUserRolesKeepsAnAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	ada := e.register(t, "ada@example.com")
	bob := e.register(t, "bob@example.com")
	if _, err := e.svc.SetUserRoles(ctx, ada.ID, []string{"admin"}); err != nil {
		t.Fatal(err)
	}
	for name, roles := range map[string][]string{"none": nil, "other roles": {"customer", "support"}} {
		_, err := e.svc.SetUserRoles(ctx, ada.ID, roles)
		wantLastAdmin(t, "SetUserRoles(last admin, "+name+")", err)
	}
	// The last admin may still change its other roles.
	if got, err := e.svc.SetUserRoles(ctx, ada.ID, []string{"admin", "support"}); err != nil || !got.HasRole(identity.RoleAdmin) {
		t.Errorf("SetUserRoles(last admin, keeping admin) = %+v, %v", got, err)
	}
	if _, err := e.svc.SetUserRoles(ctx, bob.ID, []string{"admin", "customer"}); err != nil {
		t.Fatal(err)
	}
	if got, err := e.svc.SetUserRoles(ctx, ada.ID, []string{"customer"}); err != nil || got.HasRole(identity.RoleAdmin) {
		t.Errorf("SetUserRoles(one of two admins) = %+v, %v; want demoted", got, err)
	}
	_, err := e.svc.SetUserRoles(ctx, bob.ID, []string{"customer"})
	wantLastAdmin(t, "SetUserRoles(bob, now the last admin)", err)
	if u, err := e.svc.User(ctx, bob.ID); err != nil || !u.HasRole(identity.RoleAdmin) {
		t.Errorf("User(bob) after the refused demotion = %+v, %v; want still admin", u, err)
	}
	want := []string{
		identity.TopicUserRegistered, identity.TopicUserRegistered,
		identity.TopicUserRolesChanged, identity.TopicUserRolesChanged, identity.TopicUserRolesChanged, identity.TopicUserRolesChanged,
	}
	if got := e.topics(t); !slices.Equal(got, want) {
		t.Errorf("outbox = %v, want %v (no event for a refused change)", got, want)
	}
}

// TestConcurrentDemotionsKeepAnAdmin demotes the last two admins at once,
// round after round: exactly one demotion wins each time.
func TestConcurrentDemotionsKeepAnAdmin(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]func(testing.TB) *store.Store{"sqlite": openSQLite, "postgres": openPostgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnvOn(t, open(t))
			ctx := t.Context()
			admin := e.register(t, "admin@example.com")
			if _, err := e.svc.SetUserRoles(ctx, admin.ID, []string{"admin"}); err != nil {
				t.Fatal(err)
			}
			for round := range 5 {
				next := e.register(t, fmt.Sprintf("admin%d@example.com", round))
				if _, err := e.svc.SetUserRoles(ctx, next.ID, []string{"admin"}); err != nil {
					t.Fatal(err)
				}
				admins := []*identity.User{admin, next}
				failures := make([]error, len(admins))
				var wg sync.WaitGroup
				for i, u := range admins {
					wg.Go(func() { _, failures[i] = e.svc.SetUserRoles(ctx, u.ID, []string{"customer"}) })
				}
				wg.Wait()
				winner := slices.IndexFunc(failures, func(err error) bool { return err == nil })
				if winner < 0 || failures[1-winner] == nil {
					t.Fatalf("round %d: concurrent demotions of the last two admins = %v, %v; want exactly one success", round, failures[0], failures[1])
				}
				wantLastAdmin(t, "SetUserRoles(loser)", failures[1-winner])
				admin = admins[1-winner] // still an admin
				if u, err := e.svc.User(ctx, admin.ID); err != nil || !u.HasRole(identity.RoleAdmin) {
					t.Fatalf("round %d: User(loser) = %+v, %v; want still admin", round, u, err)
				}
			}
		})
	}
}

func TestMe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.register(t, "ada@example.com")
	got, err := e.svc.Me(t.Context(), userPrincipal(u))
	if err != nil || got.ID != u.ID || got.Email != u.Email {
		t.Errorf("Me() = %+v, %v; want %s", got, err, u.Email)
	}
	_, err = e.svc.Me(t.Context(), &auth.Principal{Kind: auth.Service, Subject: "order"})
	wantErr(t, "Me(service)", err, codes.PermissionDenied, identity.ReasonUserRequired)
}
