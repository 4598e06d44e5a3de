package identity_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/bazaarhq/bazaar/internal/identity"
)

func TestNewRefusesInvalidConfig(t *testing.T) {
	t.Parallel()
	st := openSQLite(t)
	for name, cfg := range map[string]identity.Config{
		"refresh not longer than access": {AccessTokenTTL: time.Hour, RefreshTokenTTL: time.Hour},
		"publish ahead below JWKS cache": {PublishAhead: time.Minute, JWKSCacheTTL: 5 * time.Minute},
		"key cache not below ahead":      {PublishAhead: 10 * time.Minute, KeyCacheTTL: 10 * time.Minute},
		"negative TTL":                   {AccessTokenTTL: -time.Minute},
		"bad argon2":                     {Argon2: identity.Argon2Params{Memory: 1, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}},
	} {
		if _, err := identity.New(st, cfg); err == nil {
			t.Errorf("New(%s) = nil error, want one", name)
		}
	}
	if _, err := identity.New(nil, identity.Config{}); err == nil {
		t.Errorf("New(nil store) = nil error, want one")
	}
	svc, err := identity.New(st, identity.Config{Argon2: tinyArgon2})
	if err != nil {
		t.Fatalf("New(defaults) = %v", err)
	}
	if svc.JWKSCacheTTL() != identity.DefaultJWKSCacheTTL {
		t.Errorf("JWKSCacheTTL() = %v, want %v", svc.JWKSCacheTTL(), identity.DefaultJWKSCacheTTL)
	}
}

func TestMaintain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	e.register(t, "ada@example.com")
	pair := e.login(t, "ada@example.com")
	e.clock.Advance(identity.DefaultRefreshTokenTTL + time.Second)
	if err := e.svc.Maintain(ctx); err != nil {
		t.Fatalf("Maintain() = %v", err)
	}
	// The expired session is gone (not merely expired), and keys rotated.
	_, err := e.svc.Refresh(ctx, pair.RefreshToken)
	wantErr(t, "Refresh(purged)", err, codes.Unauthenticated, identity.ReasonRefreshTokenInvalid)
	if keys := e.publicKeys(t); len(keys) != 2 || !keys[0].ActivateTime.Equal(e.clock.Now()) {
		t.Errorf("keys after a month of downtime = %v, want a fresh current and next key", kids(keys))
	}
}

func TestRunMaintenanceStopsWithContext(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.svc.RunMaintenance(ctx, time.Millisecond) }()
	deadline := time.After(5 * time.Second)
	for len(e.publicKeys(t)) == 0 { // the first run rotates the keys
		select {
		case <-deadline:
			t.Fatal("RunMaintenance did not rotate the keys")
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("RunMaintenance() = %v, want nil after cancellation", err)
	}
	if err := e.svc.RunMaintenance(t.Context(), 0); err == nil {
		t.Errorf("RunMaintenance(0) = nil, want an error")
	}
}
