package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// serviceClient is an OAuth2 client of a service, as kept in the data dir.
type serviceClient struct {
	ID     string `json:"client_id"`
	Secret string `json:"client_secret"`
}

// serviceCallOptions returns the dial options with which service proves
// who it is to the services it calls and holds scopes there. With TLS its
// certificate does that (a service identity, admitted by the policies'
// `services`). In plaintext it uses an OAuth2 client-credentials client of
// its own, holding scopes (admitted by the policies' `scopes`): created in
// the identity service at the first start, its secret kept in
// DATA_DIR/secrets/SERVICE-client.json (mode 0600) and reused after, and
// replaced when identity no longer knows it or it lacks a scope.
func serviceCallOptions(ctx context.Context, env serviceEnv, service string, scopes []string) ([]grpc.DialOption, error) {
	if env.cfg.TLS {
		return nil, nil
	}
	creds, err := serviceCredentials(ctx, env, service, scopes)
	if err != nil {
		return nil, err
	}
	return []grpc.DialOption{grpc.WithPerRPCCredentials(creds)}, nil
}

func serviceCredentials(ctx context.Context, env serviceEnv, service string, scopes []string) (credentials.PerRPCCredentials, error) {
	id := env.shared.identity
	if id == nil {
		return nil, errors.New("the identity service must start before " + service)
	}
	dir := filepath.Join(env.cfg.DataDir, "secrets")
	file := filepath.Join(dir, service+"-client.json")
	var c serviceClient
	if b, err := os.ReadFile(file); err == nil {
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if c.ID != "" {
		tok, err := id.ClientToken(ctx, c.ID, c.Secret, "")
		switch {
		case err == nil && containsAll(tok.Scopes, scopes):
			return auth.NewClientCredentials(env.identity, c.ID, c.Secret), nil
		case err != nil && errs.KindOfError(err) != errs.Unauthenticated:
			return nil, fmt.Errorf("checking the %s client: %w", service, err)
		}
		// Unknown to identity (a new identity database) or short of a
		// scope (a newer version needs more): make a new one.
	}
	created, secret, err := id.CreateClient(ctx, "service "+service, scopes)
	if err != nil {
		return nil, fmt.Errorf("creating the %s client: %w", service, err)
	}
	c = serviceClient{ID: created.ID, Secret: secret}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(file, b, 0o600); err != nil {
		return nil, err
	}
	env.log.Info("created the service's OAuth2 client", "client_id", c.ID, "scopes", scopes, "secret_file", file)
	return auth.NewClientCredentials(env.identity, c.ID, c.Secret), nil
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// writeFileAtomic writes data to a temporary file beside name and renames
// it into place, so a crash leaves the old file or the new one.
func writeFileAtomic(name string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+"-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(f.Name()) }() // fails harmlessly after the rename
	if err := f.Chmod(perm); err != nil {
		_ = f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}
