package identity_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/bazaarhq/bazaar/internal/identity"
	"github.com/bazaarhq/bazaar/internal/identity/store"
)

// Example wires the service the way a process does: open the store, build
// the service, rotate the keys, make sure there is an administrator.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "identity-example")
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = os.RemoveAll(dir) }()

	st, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "identity.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	// Tiny argon2 parameters keep the example fast; production leaves
	// Argon2 zero, which means DefaultArgon2Params.
	svc, err := identity.New(st, identity.Config{
		Argon2: identity.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := svc.RotateKeys(ctx); err != nil {
		log.Fatal(err)
	}
	created, password, err := svc.EnsureAdmin(ctx, "admin@bazaar.local", "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("admin created:", created, "- password to show once:", password != "")

	u, err := svc.Register(ctx, identity.Registration{Email: " Ada@Example.com ", Password: "correct horse battery staple 7"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u.Email, u.Roles)
	_, pair, err := svc.Login(ctx, "ada@example.com", "correct horse battery staple 7")
	if err != nil {
		log.Fatal(err)
	}
	keys, err := svc.PublicKeys(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("published keys:", len(keys), "- refresh token kind:", pair.RefreshToken[:4])
	// Output:
	// admin created: true - password to show once: true
	// ada@example.com [customer]
	// published keys: 2 - refresh token kind: bzr_
}
