package identity_test

import (
	"slices"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/bazaarhq/bazaar/internal/identity"
)

func TestEnsureAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	created, password, err := e.svc.EnsureAdmin(ctx, "Admin@Bazaar.Test", "")
	if err != nil || !created || password == "" {
		t.Fatalf("EnsureAdmin() = %v, %q, %v; want created with a generated password", created, password, err)
	}
	if err := identity.CheckPassword("password", password); err != nil {
		t.Errorf("generated password %q breaks the policy: %v", password, err)
	}
	u, pair, err := e.svc.Login(ctx, "admin@bazaar.test", password)
	if err != nil {
		t.Fatalf("Login(admin) = %v", err)
	}
	if !slices.Equal(u.Roles, []string{identity.RoleAdmin}) || !slices.Contains(e.mustParse(t, pair.AccessToken).Roles, identity.RoleAdmin) {
		t.Errorf("admin roles = %v, want [admin] in the account and the token", u.Roles)
	}
	// Idempotent: an administrator exists, whatever the arguments.
	for _, args := range [][2]string{{"admin@bazaar.test", ""}, {"other@bazaar.test", strongPassword}} {
		created, password, err := e.svc.EnsureAdmin(ctx, args[0], args[1])
		if err != nil || created || password != "" {
			t.Errorf("EnsureAdmin(%s) again = %v, %q, %v; want nothing done", args[0], created, password, err)
		}
	}
	if got := e.topics(t); slices.Index(got, identity.TopicUserRegistered) != 0 || slices.Index(got[1:], identity.TopicUserRegistered) >= 0 {
		t.Errorf("outbox = %v, want one registration", got)
	}
}

func TestEnsureAdminWithPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, _, err := e.svc.EnsureAdmin(t.Context(), "admin@bazaar.test", "weak")
	wantErr(t, "EnsureAdmin(weak password)", err, codes.InvalidArgument, identity.ReasonWeakPassword, "password")
	_, _, err = e.svc.EnsureAdmin(t.Context(), "not an email", strongPassword)
	wantErr(t, "EnsureAdmin(bad email)", err, codes.InvalidArgument, identity.ReasonEmailInvalid, "email")
	created, password, err := e.svc.EnsureAdmin(t.Context(), "admin@bazaar.test", strongPassword)
	if err != nil || !created || password != "" {
		t.Fatalf("EnsureAdmin(given password) = %v, %q, %v; want created, nothing generated", created, password, err)
	}
	e.login(t, "admin@bazaar.test")
}

func TestEnsureAdminDoesNotPromoteACustomer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	squatter := e.register(t, "admin@bazaar.test")
	_, _, err := e.svc.EnsureAdmin(t.Context(), "admin@bazaar.test", "")
	wantErr(t, "EnsureAdmin(email of a customer)", err, codes.FailedPrecondition, identity.ReasonAdminEmailTaken)
	if u, _ := e.svc.User(t.Context(), squatter.ID); u.HasRole(identity.RoleAdmin) {
		t.Errorf("the customer was promoted")
	}
}

func TestEnsureAdminConcurrently(t *testing.T) {
	t.Parallel()
	st := openSQLite(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	createdCount := 0
	for range 4 {
		r := newEnvOn(t, st) // replicas starting at once
		wg.Go(func() {
			created, _, err := r.svc.EnsureAdmin(t.Context(), "admin@bazaar.test", "")
			if err != nil {
				t.Errorf("EnsureAdmin() = %v", err)
			}
			if created {
				mu.Lock()
				createdCount++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if createdCount != 1 {
		t.Errorf("%d concurrent EnsureAdmin calls created an admin, want exactly 1", createdCount)
	}
}
