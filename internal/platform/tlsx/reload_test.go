package tlsx_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/tlsx"
)

// truncate leaves the first half of file, as an interrupted non-atomic
// writer would.
func truncate(t *testing.T, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data[:len(data)/2], 0o600); err != nil {
		t.Fatal(err)
	}
}

// copyFile copies from to to, in place (not atomically).
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// expiredPKI issues an expired "greeter" from pki's CA in a new directory.
func expiredPKI(t *testing.T, pki *tlsx.PKI) *tlsx.PKI {
	t.Helper()
	dir := t.TempDir()
	copyFile(t, pki.Layout.CACertFile(), filepath.Join(dir, "ca.pem"))
	copyFile(t, pki.Layout.CAKeyFile(), filepath.Join(dir, "ca-key.pem"))
	return generateIn(t, dir, []string{"greeter"}, tlsx.WithLeafValidity(time.Nanosecond))
}

func TestNewReloaderRejectsUnusableFiles(t *testing.T) {
	t.Parallel()
	pki := generate(t, services())
	l := pki.Layout
	other := generate(t, []string{"greeter"})
	expired := expiredPKI(t, pki)
	half := func(file string) string {
		name := filepath.Join(t.TempDir(), filepath.Base(file))
		copyFile(t, file, name)
		truncate(t, name)
		return name
	}
	tests := []struct {
		name            string
		cert, key, ca   string
		opts            []tlsx.ReloaderOption
		wantErrContains string
	}{
		{"missing certificate", filepath.Join(l.Dir, "nope.pem"), l.KeyFile("greeter"), l.CACertFile(), nil, "no such file"},
		{"missing CA", l.CertFile("greeter"), l.KeyFile("greeter"), filepath.Join(l.Dir, "nope.pem"), nil, "no such file"},
		{"half-written certificate", half(l.CertFile("greeter")), l.KeyFile("greeter"), l.CACertFile(), nil, "half written"},
		{"half-written key", l.CertFile("greeter"), half(l.KeyFile("greeter")), l.CACertFile(), nil, "PEM data"},
		{"half-written CA", l.CertFile("greeter"), l.KeyFile("greeter"), half(l.CACertFile()), nil, "half written"},
		{"key of another certificate", l.CertFile("greeter"), l.KeyFile("caller"), l.CACertFile(), nil, "does not match"},
		{"certificate from another CA", other.Layout.CertFile("greeter"), other.Layout.KeyFile("greeter"), l.CACertFile(), nil, "unknown authority"},
		{"expired certificate", expired.Layout.CertFile("greeter"), expired.Layout.KeyFile("greeter"), l.CACertFile(), nil, "expired"},
		{"key as the CA file", l.CertFile("greeter"), l.KeyFile("greeter"), l.CAKeyFile(), nil, "want CERTIFICATE"},
		{"negative check interval", l.CertFile("greeter"), l.KeyFile("greeter"), l.CACertFile(),
			[]tlsx.ReloaderOption{tlsx.WithCheckInterval(-time.Second)}, "negative"},
		{"nil logger", l.CertFile("greeter"), l.KeyFile("greeter"), l.CACertFile(),
			[]tlsx.ReloaderOption{tlsx.WithLogger(nil)}, "nil logger"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := tlsx.NewReloader(tt.cert, tt.key, tt.ca, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErrContains) {
				t.Errorf("NewReloader() = %v, %v; want an error containing %q", r, err, tt.wantErrContains)
			}
		})
	}
}

// TestReloaderKeepsPreviousFiles breaks the files on disk in every way a
// rotation can go wrong and checks that the Reloader keeps serving what it
// had, reports why, and takes the next good files.
func TestReloaderKeepsPreviousFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		breakFiles      func(t *testing.T, pki *tlsx.PKI)
		wantErrContains string
	}{
		{
			name:            "half-written certificate",
			breakFiles:      func(t *testing.T, pki *tlsx.PKI) { truncate(t, pki.Layout.CertFile("greeter")) },
			wantErrContains: "half written",
		},
		{
			name:            "half-written key",
			breakFiles:      func(t *testing.T, pki *tlsx.PKI) { truncate(t, pki.Layout.KeyFile("greeter")) },
			wantErrContains: "PEM data",
		},
		{
			name:            "half-written CA",
			breakFiles:      func(t *testing.T, pki *tlsx.PKI) { truncate(t, pki.Layout.CACertFile()) },
			wantErrContains: "half written",
		},
		{
			// A rotation seen between the renames of the key and the
			// certificate.
			name: "new certificate next to the old key",
			breakFiles: func(t *testing.T, pki *tlsx.PKI) {
				oldKey, err := os.ReadFile(pki.Layout.KeyFile("greeter"))
				if err != nil {
					t.Fatal(err)
				}
				generateIn(t, pki.Layout.Dir, services(), tlsx.WithRenew())
				writeAtomic(t, pki.Layout.KeyFile("greeter"), oldKey)
			},
			wantErrContains: "does not match",
		},
		{
			name: "certificate from another CA",
			breakFiles: func(t *testing.T, pki *tlsx.PKI) {
				other := generate(t, []string{"greeter"})
				copyFile(t, other.Layout.KeyFile("greeter"), pki.Layout.KeyFile("greeter"))
				copyFile(t, other.Layout.CertFile("greeter"), pki.Layout.CertFile("greeter"))
			},
			wantErrContains: "unknown authority",
		},
		{
			name: "expired certificate",
			breakFiles: func(t *testing.T, pki *tlsx.PKI) {
				expired := expiredPKI(t, pki)
				copyFile(t, expired.Layout.KeyFile("greeter"), pki.Layout.KeyFile("greeter"))
				copyFile(t, expired.Layout.CertFile("greeter"), pki.Layout.CertFile("greeter"))
			},
			wantErrContains: "expired",
		},
		{
			name: "key removed",
			breakFiles: func(t *testing.T, pki *tlsx.PKI) {
				if err := os.Remove(pki.Layout.KeyFile("greeter")); err != nil {
					t.Fatal(err)
				}
			},
			wantErrContains: "no such file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pki := generate(t, services())
			r := reloader(t, pki, "greeter", "")
			want := service(t, pki, "greeter").Cert.SerialNumber

			tt.breakFiles(t, pki)
			if got := r.Certificate().Leaf.SerialNumber; got.Cmp(want) != 0 {
				t.Errorf("after %s: serving serial %x, want the previous %x", tt.name, got, want)
			}
			if err := r.LastError(); err == nil || !strings.Contains(err.Error(), tt.wantErrContains) {
				t.Errorf("after %s: LastError() = %v, want an error containing %q", tt.name, err, tt.wantErrContains)
			}
			if err := r.Reload(); err == nil {
				t.Errorf("after %s: Reload() = nil, want an error", tt.name)
			}

			// The next good files are taken, and the error cleared.
			fixed := generateIn(t, pki.Layout.Dir, services(), tlsx.WithRenew())
			want = service(t, fixed, "greeter").Cert.SerialNumber
			if got := r.Certificate().Leaf.SerialNumber; got.Cmp(want) != 0 {
				t.Errorf("after repair: serving serial %x, want the new %x", got, want)
			}
			if err := r.LastError(); err != nil {
				t.Errorf("after repair: LastError() = %v, want nil", err)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

// TestReloaderReadsOncePerChange checks that broken files are read and
// reported once, not at every handshake, and good ones taken once.
func TestReloaderReadsOncePerChange(t *testing.T) {
	t.Parallel()
	pki := generate(t, services())
	l := pki.Layout
	var logs syncBuffer
	r, err := tlsx.NewReloader(l.CertFile("greeter"), l.KeyFile("greeter"), l.CACertFile(),
		tlsx.WithCheckInterval(0), tlsx.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	const rejected, reloaded = "rejected new certificate files", "reloaded certificate"

	truncate(t, l.CertFile("greeter"))
	for range 3 {
		r.Certificate()
	}
	if got := logs.count(rejected); got != 1 {
		t.Errorf("logged %q %d times for one broken file, want 1", rejected, got)
	}

	generateIn(t, l.Dir, services(), tlsx.WithRenew())
	for range 3 {
		r.CAPool()
	}
	if got := logs.count(reloaded); got != 1 {
		t.Errorf("logged %q %d times for one change, want 1", reloaded, got)
	}
}

func TestReloaderCheckInterval(t *testing.T) {
	t.Parallel()
	pki := generate(t, services())
	l := pki.Layout
	r, err := tlsx.NewReloader(l.CertFile("greeter"), l.KeyFile("greeter"), l.CACertFile(), tlsx.WithCheckInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	old := service(t, pki, "greeter").Cert.SerialNumber
	renewed := service(t, generateIn(t, l.Dir, services(), tlsx.WithRenew()), "greeter").Cert.SerialNumber

	// Within the interval the files are not looked at.
	if got := r.Certificate().Leaf.SerialNumber; got.Cmp(old) != 0 {
		t.Errorf("within the check interval: serving serial %x, want the old %x", got, old)
	}
	// Reload looks at once.
	if err := r.Reload(); err != nil {
		t.Fatalf("Reload() = %v", err)
	}
	if got := r.Certificate().Leaf.SerialNumber; got.Cmp(renewed) != 0 {
		t.Errorf("after Reload: serving serial %x, want the renewed %x", got, renewed)
	}
}
