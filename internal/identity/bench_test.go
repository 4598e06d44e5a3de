package identity_test

import (
	"crypto/rand"
	"testing"

	"github.com/bazaarhq/bazaar/internal/identity"
)

// BenchmarkVerifyAPIKey is the per-call cost other services pay to check an
// API key (a SHA-256 and one indexed read).
func BenchmarkVerifyAPIKey(b *testing.B) {
	e := newEnv(b)
	u := e.register(b, "ada@example.com")
	_, secret, err := e.svc.CreateAPIKey(b.Context(), userPrincipal(u), identity.NewAPIKey{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.svc.VerifyAPIKey(b.Context(), secret); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefresh is a token rotation: a signature and one transaction.
func BenchmarkRefresh(b *testing.B) {
	e := newEnv(b)
	e.register(b, "ada@example.com")
	token := e.login(b, "ada@example.com").RefreshToken
	b.ReportAllocs()
	for b.Loop() {
		pair, err := e.svc.Refresh(b.Context(), token)
		if err != nil {
			b.Fatal(err)
		}
		token = pair.RefreshToken
	}
}

// BenchmarkHashPasswordDefault measures what one login costs in CPU and
// memory with the production parameters; raise them while this stays
// acceptable on the deployment's hardware.
func BenchmarkHashPasswordDefault(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := identity.HashPassword("correct horse battery staple 7", identity.DefaultArgon2Params, rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}
