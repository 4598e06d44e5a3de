package tlsx_test

import (
	"crypto/x509"
	"maps"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bazaarhq/bazaar/internal/platform/tlsx"
)

// readCert loads file, with its key and the CA next to it, the way a
// service would (NewReloader checks that the three form a usable set), and
// returns the certificate.
func readCert(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	dir := filepath.Dir(file)
	key := strings.TrimSuffix(file, ".pem") + "-key.pem"
	r, err := tlsx.NewReloader(file, key, tlsx.Layout{Dir: dir}.CACertFile())
	if err != nil {
		t.Fatalf("NewReloader(%s) = %v", file, err)
	}
	return r.Certificate().Leaf
}

// snapshot returns the contents of every file in dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := make(map[string]string, len(entries))
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	return files
}

func TestGenerateDevPKIFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data", "certs") // created with its parents
	pki := generateIn(t, dir, []string{"catalog", "order"})

	wantFiles := []string{
		"ca-key.pem", "ca.pem", "catalog-key.pem", "catalog.pem", "client-key.pem", "client.pem", "order-key.pem", "order.pem",
	}
	files := snapshot(t, dir)
	if diff := cmp.Diff(wantFiles, slices.Sorted(maps.Keys(files))); diff != "" {
		t.Errorf("files in %s (-want +got), no temporary file may remain:\n%s", dir, diff)
	}
	if runtime.GOOS != "windows" {
		for _, name := range wantFiles {
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			want := os.FileMode(0o644)
			if strings.HasSuffix(name, "-key.pem") {
				want = 0o600
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s has mode %v, want %v", name, got, want)
			}
		}
	}

	ca := pki.CA.Cert
	if !ca.IsCA || !ca.MaxPathLenZero || ca.KeyUsage&x509.KeyUsageCertSign == 0 || ca.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("CA: IsCA %v, MaxPathLenZero %v, KeyUsage %b, key %v; want an ECDSA CA that signs leaves only",
			ca.IsCA, ca.MaxPathLenZero, ca.KeyUsage, ca.PublicKeyAlgorithm)
	}
	if got := ca.NotAfter.Sub(ca.NotBefore); got < tlsx.DefaultCAValidity || got > tlsx.DefaultCAValidity+2*time.Minute {
		t.Errorf("CA valid for %v, want about %v", got, tlsx.DefaultCAValidity)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)

	for _, s := range []string{"catalog", "order"} {
		kp := service(t, pki, s)
		c := readCert(t, kp.CertFile)
		if c.SerialNumber.Cmp(kp.Cert.SerialNumber) != 0 || kp.Reused {
			t.Errorf("%s: file serial %x, returned %x (reused %v); want the same, newly issued", s, c.SerialNumber, kp.Cert.SerialNumber, kp.Reused)
		}
		got := map[string]any{
			"URIs":        []string{c.URIs[0].String()},
			"DNSNames":    c.DNSNames,
			"IPAddresses": []string{c.IPAddresses[0].String(), c.IPAddresses[1].String()},
			"ExtKeyUsage": c.ExtKeyUsage,
			"CommonName":  c.Subject.CommonName,
		}
		want := map[string]any{
			"URIs":        []string{"spiffe://bazaar.dev/" + s},
			"DNSNames":    []string{"localhost", s},
			"IPAddresses": []string{"127.0.0.1", "::1"},
			"ExtKeyUsage": []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
			"CommonName":  s,
		}
		if len(c.URIs) != 1 || len(c.IPAddresses) != 2 {
			t.Fatalf("%s: URIs %v, IPs %v; want one URI and two IPs", s, c.URIs, c.IPAddresses)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s certificate (-want +got):\n%s", s, diff)
		}
		if got := c.NotAfter.Sub(c.NotBefore); got < tlsx.DefaultLeafValidity || got > tlsx.DefaultLeafValidity+2*time.Minute {
			t.Errorf("%s valid for %v, want about %v", s, got, tlsx.DefaultLeafValidity)
		}
		// A service both serves (under its name) and calls.
		for _, opts := range []x509.VerifyOptions{
			{Roots: roots, DNSName: s, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
			{Roots: roots, DNSName: "127.0.0.1", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
			{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
		} {
			if _, err := c.Verify(opts); err != nil {
				t.Errorf("%s.Verify(name %q, usages %v) = %v", s, opts.DNSName, opts.KeyUsages, err)
			}
		}
	}

	client := readCert(t, pki.Client.CertFile)
	if len(client.URIs) != 1 || client.URIs[0].String() != "spiffe://bazaar.dev/user/cli" || tlsx.ClientID().String() != client.URIs[0].String() {
		t.Errorf("client URIs %v, want [spiffe://bazaar.dev/user/cli]", client.URIs)
	}
	if len(client.DNSNames)+len(client.IPAddresses) != 0 || !slices.Equal(client.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
		t.Errorf("client DNS %v, IPs %v, usages %v; want no names, client authentication only",
			client.DNSNames, client.IPAddresses, client.ExtKeyUsage)
	}
	if _, err := client.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client.Verify() = %v", err)
	}
}

func TestGenerateDevPKIWithExtraNames(t *testing.T) {
	t.Parallel()
	pki := generate(t, []string{"catalog"}, tlsx.WithExtraNames("catalog.bazaar.svc", "10.0.0.7"))
	c := service(t, pki, "catalog").Cert
	if diff := cmp.Diff([]string{"localhost", "catalog", "catalog.bazaar.svc"}, c.DNSNames); diff != "" {
		t.Errorf("DNS names (-want +got):\n%s", diff)
	}
	if !slices.ContainsFunc(c.IPAddresses, net.ParseIP("10.0.0.7").Equal) {
		t.Errorf("IP addresses %v, want 10.0.0.7 among them", c.IPAddresses)
	}
	if len(pki.Client.Cert.DNSNames) != 0 {
		t.Errorf("client DNS names %v, want none: extra names are for services", pki.Client.Cert.DNSNames)
	}
}

func TestGenerateDevPKIIsIdempotent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	generateIn(t, dir, []string{"catalog"})
	before := snapshot(t, dir)

	again := generateIn(t, dir, []string{"catalog"})
	if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
		t.Errorf("second run changed files (-before +after):\n%s", diff)
	}
	for _, kp := range append([]tlsx.KeyPair{again.CA, again.Client}, again.Services...) {
		if !kp.Reused {
			t.Errorf("second run: %s not reused", kp.Name)
		}
	}

	// A new service is issued from the same CA; nothing else changes.
	more := generateIn(t, dir, []string{"catalog", "payment"})
	after := snapshot(t, dir)
	for name, data := range before {
		if after[name] != data {
			t.Errorf("adding a service changed %s", name)
		}
	}
	if p := service(t, more, "payment"); p.Reused || p.Cert.CheckSignatureFrom(more.CA.Cert) != nil {
		t.Errorf("payment: reused %v, signed by the CA: %v; want a new certificate from the kept CA",
			p.Reused, p.Cert.CheckSignatureFrom(more.CA.Cert))
	}
}

func TestGenerateDevPKIRenewAndForce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		opt        tlsx.GenerateOption
		wantSameCA bool
	}{
		{"renew keeps the CA", tlsx.WithRenew(), true},
		{"force replaces the CA", tlsx.WithForce(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			first := generateIn(t, dir, []string{"catalog"})
			before := snapshot(t, dir)
			second := generateIn(t, dir, []string{"catalog"}, tt.opt)
			after := snapshot(t, dir)

			if same := before["ca.pem"] == after["ca.pem"] && before["ca-key.pem"] == after["ca-key.pem"]; same != tt.wantSameCA {
				t.Errorf("CA files unchanged: %v, want %v", same, tt.wantSameCA)
			}
			if second.CA.Reused != tt.wantSameCA {
				t.Errorf("CA.Reused = %v, want %v", second.CA.Reused, tt.wantSameCA)
			}
			for _, name := range []string{"catalog.pem", "catalog-key.pem", "client.pem", "client-key.pem"} {
				if before[name] == after[name] {
					t.Errorf("%s unchanged, want re-issued", name)
				}
			}
			old, renewed := service(t, first, "catalog"), service(t, second, "catalog")
			if renewed.Reused || renewed.Cert.SerialNumber.Cmp(old.Cert.SerialNumber) == 0 {
				t.Errorf("catalog: reused %v, serial %x (was %x); want a new certificate", renewed.Reused, renewed.Cert.SerialNumber, old.Cert.SerialNumber)
			}
			readCert(t, renewed.CertFile) // a consistent set: it loads
		})
	}
}

// TestGenerateDevPKIReissuesUnusable checks what "valid" means when files
// are kept: anything unusable is issued anew, the rest kept.
func TestGenerateDevPKIReissuesUnusable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) []tlsx.GenerateOption // breaks dir, returns the second run's options
		reissue []string                                             // key pairs the second run must issue
	}{
		{
			name: "missing key",
			setup: func(t *testing.T, dir string) []tlsx.GenerateOption {
				rm(t, filepath.Join(dir, "catalog-key.pem"))
				return nil
			},
			reissue: []string{"catalog"},
		},
		{
			name: "half-written certificate",
			setup: func(t *testing.T, dir string) []tlsx.GenerateOption {
				truncate(t, filepath.Join(dir, "order.pem"))
				return nil
			},
			reissue: []string{"order"},
		},
		{
			name: "key of another certificate",
			setup: func(t *testing.T, dir string) []tlsx.GenerateOption {
				copyFile(t, filepath.Join(dir, "order-key.pem"), filepath.Join(dir, "catalog-key.pem"))
				return nil
			},
			reissue: []string{"catalog"},
		},
		{
			name: "certificate from another CA",
			setup: func(t *testing.T, dir string) []tlsx.GenerateOption {
				other := generate(t, []string{"catalog"})
				copyFile(t, other.Layout.CertFile("catalog"), filepath.Join(dir, "catalog.pem"))
				copyFile(t, other.Layout.KeyFile("catalog"), filepath.Join(dir, "catalog-key.pem"))
				return nil
			},
			reissue: []string{"catalog"},
		},
		{
			name: "different names asked for",
			setup: func(*testing.T, string) []tlsx.GenerateOption {
				return []tlsx.GenerateOption{tlsx.WithExtraNames("catalog.bazaar.svc")}
			},
			reissue: []string{"catalog", "order"}, // not the client: it has no host names
		},
		{
			name: "missing CA key",
			setup: func(t *testing.T, dir string) []tlsx.GenerateOption {
				rm(t, filepath.Join(dir, "ca-key.pem"))
				return nil
			},
			reissue: []string{"ca", "catalog", "order", "client"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			generateIn(t, dir, []string{"catalog", "order"})
			opts := tt.setup(t, dir)
			second := generateIn(t, dir, []string{"catalog", "order"}, opts...)

			for _, kp := range append([]tlsx.KeyPair{second.CA, second.Client}, second.Services...) {
				if want := !slices.Contains(tt.reissue, kp.Name); kp.Reused != want {
					t.Errorf("%s: Reused = %v, want %v", kp.Name, kp.Reused, want)
				}
				if kp.Name != "ca" {
					readCert(t, kp.CertFile) // the result is usable
				}
			}
		})
	}
}

func rm(t *testing.T, file string) {
	t.Helper()
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
}

// TestGenerateDevPKIRenewsNearExpiry checks the renewal point: a
// certificate with a third or less of its lifetime left is re-issued, so
// running `bazaar certs` regularly keeps a PKI valid.
func TestGenerateDevPKIRenewsNearExpiry(t *testing.T) {
	t.Parallel()
	t.Run("leaf", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		// Issued with nearly no lifetime: expired by the next run.
		first := generateIn(t, dir, []string{"catalog"}, tlsx.WithLeafValidity(time.Nanosecond))
		if got := service(t, first, "catalog").Cert.NotAfter; got.After(time.Now()) {
			t.Fatalf("catalog valid until %v, want expired", got)
		}
		second := generateIn(t, dir, []string{"catalog"})
		if !second.CA.Reused || service(t, second, "catalog").Reused || second.Client.Reused {
			t.Errorf("CA reused %v, catalog reused %v, client reused %v; want true, false, false",
				second.CA.Reused, service(t, second, "catalog").Reused, second.Client.Reused)
		}
	})
	t.Run("CA", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		first := generateIn(t, dir, []string{"catalog"}, tlsx.WithCAValidity(time.Nanosecond))
		// A leaf never outlives its CA.
		if c := service(t, first, "catalog").Cert; c.NotAfter.After(first.CA.Cert.NotAfter) {
			t.Errorf("catalog valid until %v, after its CA (%v)", c.NotAfter, first.CA.Cert.NotAfter)
		}
		second := generateIn(t, dir, []string{"catalog"})
		if second.CA.Reused || service(t, second, "catalog").Reused || second.Client.Reused {
			t.Errorf("after the CA expired: CA reused %v, catalog %v, client %v; want all re-issued",
				second.CA.Reused, service(t, second, "catalog").Reused, second.Client.Reused)
		}
	})
}

func TestGenerateDevPKIRejectsBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		services []string
		opts     []tlsx.GenerateOption
		want     string
	}{
		{"empty name", []string{""}, nil, "not a lowercase DNS label"},
		{"upper case", []string{"Catalog"}, nil, "not a lowercase DNS label"},
		{"path", []string{"../catalog"}, nil, "not a lowercase DNS label"},
		{"trailing dash", []string{"catalog-"}, nil, "not a lowercase DNS label"},
		{"too long", []string{strings.Repeat("a", 64)}, nil, "not a lowercase DNS label"},
		{"reserved ca", []string{"ca"}, nil, "reserved"},
		{"reserved client", []string{tlsx.ClientName}, nil, "reserved"},
		{"duplicate", []string{"catalog", "catalog"}, nil, "given twice"},
		{"zero CA validity", nil, []tlsx.GenerateOption{tlsx.WithCAValidity(0)}, "CA validity"},
		{"negative leaf validity", nil, []tlsx.GenerateOption{tlsx.WithLeafValidity(-time.Hour)}, "leaf validity"},
		{"empty extra name", nil, []tlsx.GenerateOption{tlsx.WithExtraNames("")}, "empty extra name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "certs")
			pki, err := tlsx.GenerateDevPKI(dir, tt.services, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("GenerateDevPKI(%q) = %v, %v; want an error containing %q", tt.services, pki, err, tt.want)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("GenerateDevPKI wrote %s before rejecting its input (Stat = %v)", dir, err)
			}
		})
	}
	// Valid names pass.
	generate(t, []string{"a", "order-2", strings.Repeat("a", 63)})
}

func TestLayout(t *testing.T) {
	t.Parallel()
	l := tlsx.Layout{Dir: tlsx.CertsDir(filepath.FromSlash("/var/lib/bazaar"))}
	got := []string{l.CACertFile(), l.CAKeyFile(), l.CertFile("catalog"), l.KeyFile("catalog"), l.CertFile(tlsx.ClientName)}
	want := []string{"/var/lib/bazaar/certs/ca.pem", "/var/lib/bazaar/certs/ca-key.pem",
		"/var/lib/bazaar/certs/catalog.pem", "/var/lib/bazaar/certs/catalog-key.pem", "/var/lib/bazaar/certs/client.pem"}
	for i := range want {
		want[i] = filepath.FromSlash(want[i])
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Layout paths (-want +got):\n%s", diff)
	}
	if got := tlsx.ServiceID("catalog").String(); got != "spiffe://bazaar.dev/catalog" {
		t.Errorf("ServiceID(catalog) = %q, want spiffe://bazaar.dev/catalog", got)
	}
}
