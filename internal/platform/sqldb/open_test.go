package sqldb_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

func TestOpenInvalidConfig(t *testing.T) {
	t.Parallel()
	file := "sqlite://" + filepath.Join(t.TempDir(), "x.db")
	tests := []struct {
		name string
		url  string
		opts []sqldb.Option
	}{
		{"empty URL", "", nil},
		{"unknown scheme", "mysql://localhost/db", nil},
		{"in-memory sqlite", "sqlite::memory:", nil},
		{"sqlite without slashes", "sqlite:file.db", nil},
		{"sqlite without file", "sqlite://", nil},
		{"sqlite directory", "sqlite:///tmp/", nil},
		{"sqlite query", file + "?cache=shared", nil},
		{"bad schema", file, []sqldb.Option{sqldb.WithSchema("Catalog; DROP")}},
		{"nil clock", file, []sqldb.Option{sqldb.WithClock(nil)}},
		{"no conns", file, []sqldb.Option{sqldb.WithMaxConns(0)}},
		{"negative busy timeout", file, []sqldb.Option{sqldb.WithBusyTimeout(-time.Second)}},
		{"negative retries", file, []sqldb.Option{sqldb.WithTxRetries(-1)}},
		{"nil logger", file, []sqldb.Option{sqldb.WithLogger(nil)}},
		{"unparsable postgres URL", "postgres://user:hunter2@host:notaport/db", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db, err := sqldb.Open(t.Context(), tc.url, tc.opts...)
			if err == nil {
				_ = db.Close()
				t.Fatalf("sqldb.Open(%q) = nil error, want ErrInvalidConfig", tc.url)
			}
			if !errors.Is(err, sqldb.ErrInvalidConfig) {
				t.Errorf("sqldb.Open(%q) = %v, want an error wrapping ErrInvalidConfig", tc.url, err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("sqldb.Open(%q) error %q reveals the password", tc.url, err)
			}
		})
	}
}

func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  string
	}{
		// Port 1 refuses at once; the password must not leak into the error.
		{"postgres refused", "postgres://user:hunter2@127.0.0.1:1/db?sslmode=disable&connect_timeout=2"},
		{"sqlite directory missing", "sqlite://" + filepath.Join(t.TempDir(), "missing", "x.db")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db, err := sqldb.Open(t.Context(), tc.url)
			if err == nil {
				_ = db.Close()
				t.Fatalf("sqldb.Open(%q) = nil error, want a connection error", tc.url)
			}
			if errors.Is(err, sqldb.ErrInvalidConfig) {
				t.Errorf("sqldb.Open(%q) = %v, want a connection error, not ErrInvalidConfig", tc.url, err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("sqldb.Open(%q) error %q reveals the password", tc.url, err)
			}
		})
	}
}
