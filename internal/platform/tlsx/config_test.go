package tlsx_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/bazaarhq/bazaar/internal/platform/tlsx"
)

// services is the PKI of most handshake tests: greeter serves, caller
// calls.
func services() []string { return []string{"greeter", "caller"} }

// Clients a server must refuse. Each returns the TLS configuration of a
// client of the greeter in pki; nil means plaintext.
func noClientCert(t *testing.T, pki *tlsx.PKI) *tls.Config {
	t.Helper()
	// What grpcurl -cacert does: verify the server, present nothing.
	roots := x509.NewCertPool()
	roots.AddCert(pki.CA.Cert)
	return &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: roots, ServerName: "greeter"}
}

func certFromAnotherCA(t *testing.T, pki *tlsx.PKI) *tls.Config {
	t.Helper()
	other := generate(t, []string{"rogue"})
	// The rogue trusts our CA too, so that it gets as far as presenting its
	// certificate: the server is what must refuse it.
	trust := bundle(t, filepath.Join(t.TempDir(), "trust.pem"), other.Layout.CACertFile(), pki.Layout.CACertFile())
	return tlsx.ClientConfig(reloader(t, other, "rogue", trust), "greeter")
}

func expiredCert(t *testing.T, pki *tlsx.PKI) *tls.Config {
	t.Helper()
	// Issue from the same CA: copy it into a new directory, where
	// GenerateDevPKI keeps it and issues leaves that expire at once.
	dir := t.TempDir()
	for _, f := range []string{pki.Layout.CACertFile(), pki.Layout.CAKeyFile()} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	late := generateIn(t, dir, []string{"late"}, tlsx.WithLeafValidity(time.Nanosecond))
	if !late.CA.Reused {
		t.Fatal("GenerateDevPKI replaced the copied CA")
	}
	l := late.Layout
	// Built by hand: NewReloader rightly refuses an expired certificate.
	pair, err := tls.LoadX509KeyPair(l.CertFile("late"), l.KeyFile("late"))
	if err != nil {
		t.Fatal(err)
	}
	if !pair.Leaf.NotAfter.Before(time.Now()) {
		t.Fatalf("late certificate valid until %v, want expired", pair.Leaf.NotAfter)
	}
	cfg := noClientCert(t, pki)
	cfg.Certificates = []tls.Certificate{pair}
	return cfg
}

func tls12Only(t *testing.T, pki *tlsx.PKI) *tls.Config {
	t.Helper()
	cfg := tlsx.ClientConfig(reloader(t, pki, "caller", ""), "greeter")
	cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	return cfg
}

func plaintext(*testing.T, *tlsx.PKI) *tls.Config { return nil }

// clientCreds is cfg as gRPC credentials; nil is plaintext.
func clientCreds(cfg *tls.Config) credentials.TransportCredentials {
	if cfg == nil {
		return insecure.NewCredentials()
	}
	return credentials.NewTLS(cfg)
}

// refusal returns why the server at addr ends a connection from a client
// with cfg: the TLS alert it sends. A gRPC client cannot tell reliably: in
// TLS 1.3 its handshake completes before the server has checked its
// certificate, it writes the HTTP/2 preface at once, and when the server
// closes with that unread, the kernel resets the connection and the client
// may see "broken pipe" instead of the alert. This client writes nothing
// after the handshake and reads, so the alert arrives intact.
func refusal(t *testing.T, addr string, cfg *tls.Config) error {
	t.Helper()
	cfg = cfg.Clone()
	cfg.NextProtos = []string{"h2"}
	d := tls.Dialer{Config: cfg}
	conn, err := d.DialContext(t.Context(), "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetReadDeadline(time.Now().Add(callTimeout)); err != nil {
		t.Fatal(err)
	}
	// An accepted client reads the server's HTTP/2 SETTINGS here.
	_, err = conn.Read(make([]byte, 1))
	return err
}

func TestServerRefusesHandshake(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mode   tlsx.ClientAuthMode
		client func(*testing.T, *tlsx.PKI) *tls.Config
		alert  string // the server's TLS alert; "" for a plaintext client
	}{
		{"required/no client certificate", tlsx.ClientCertRequired, noClientCert, "remote error: tls: certificate required"},
		{"required/certificate from another CA", tlsx.ClientCertRequired, certFromAnotherCA, "remote error: tls: unknown certificate authority"},
		{"required/expired certificate", tlsx.ClientCertRequired, expiredCert, "remote error: tls: expired certificate"},
		{"required/TLS 1.2 client", tlsx.ClientCertRequired, tls12Only, "remote error: tls: protocol version not supported"},
		{"required/plaintext client", tlsx.ClientCertRequired, plaintext, ""},
		{"optional/certificate from another CA", tlsx.ClientCertOptional, certFromAnotherCA, "remote error: tls: unknown certificate authority"},
		{"optional/expired certificate", tlsx.ClientCertOptional, expiredCert, "remote error: tls: expired certificate"},
		{"optional/TLS 1.2 client", tlsx.ClientCertOptional, tls12Only, "remote error: tls: protocol version not supported"},
		{"optional/plaintext client", tlsx.ClientCertOptional, plaintext, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pki := generate(t, services())
			addr := startServer(t, tlsx.ServerCredentials(reloader(t, pki, "greeter", ""), tt.mode))
			cfg := tt.client(t, pki)

			wantRefused(t, dial(t, addr, clientCreds(cfg)), "")
			if cfg != nil {
				if err := refusal(t, addr, cfg); err == nil || !strings.Contains(err.Error(), tt.alert) {
					t.Errorf("TLS connection ended with %v, want %q", err, tt.alert)
				}
			}

			// The refusal cost the server nothing: a valid client is served.
			valid := dial(t, addr, tlsx.ClientCredentials(reloader(t, pki, "caller", ""), "greeter"))
			wantOK(t, valid, describeCert(service(t, pki, "caller").Cert))
		})
	}
}

// TestRefusalProbeAcceptsValidClient keeps refusal honest: a client the
// server accepts must not look refused.
func TestRefusalProbeAcceptsValidClient(t *testing.T) {
	t.Parallel()
	pki := generate(t, services())
	addr := startServer(t, tlsx.ServerCredentials(reloader(t, pki, "greeter", ""), tlsx.ClientCertRequired))
	if err := refusal(t, addr, tlsx.ClientConfig(reloader(t, pki, "caller", ""), "greeter")); err != nil {
		t.Errorf("valid client's connection ended with %v, want the server's SETTINGS", err)
	}
}

func TestOptionalModeAcceptsNoClientCertificate(t *testing.T) {
	t.Parallel()
	pki := generate(t, services())
	addr := startServer(t, tlsx.ServerCredentials(reloader(t, pki, "greeter", ""), tlsx.ClientCertOptional))

	wantOK(t, dial(t, addr, clientCreds(noClientCert(t, pki))), anonymous)
	// A service presenting its certificate is still identified.
	valid := dial(t, addr, tlsx.ClientCredentials(reloader(t, pki, "caller", ""), "greeter"))
	wantOK(t, valid, describeCert(service(t, pki, "caller").Cert))
}

func TestMutualTLS(t *testing.T) {
	t.Parallel()
	pki := generate(t, services())
	addr := startServer(t, tlsx.ServerCredentials(reloader(t, pki, "greeter", ""), tlsx.ClientCertRequired))
	c := dial(t, addr, tlsx.ClientCredentials(reloader(t, pki, "caller", ""), "greeter"))

	got, info, err := hello(t.Context(), c)
	if err != nil {
		t.Fatalf("SayHello() = %v", err)
	}
	if want := describeCert(service(t, pki, "caller").Cert); got != want {
		t.Errorf("server saw caller %q, want %q", got, want)
	}
	if info.State.Version != tls.VersionTLS13 {
		t.Errorf("TLS version %x, want %x (1.3)", info.State.Version, tls.VersionTLS13)
	}
	if got, want := info.State.PeerCertificates[0].SerialNumber, service(t, pki, "greeter").Cert.SerialNumber; got.Cmp(want) != 0 {
		t.Errorf("server certificate serial %v, want greeter's %v", got, want)
	}
	if info.SPIFFEID == nil || info.SPIFFEID.String() != "spiffe://bazaar.dev/greeter" {
		t.Errorf("server SPIFFE ID %v, want spiffe://bazaar.dev/greeter", info.SPIFFEID)
	}
}

func TestClientVerifiesServerName(t *testing.T) {
	t.Parallel()
	pki := generate(t, services())
	addr := startServer(t, tlsx.ServerCredentials(reloader(t, pki, "greeter", ""), tlsx.ClientCertRequired))
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	caller := reloader(t, pki, "caller", "")
	want := describeCert(service(t, pki, "caller").Cert)
	tests := []struct {
		target, serverName string
	}{
		{addr, "greeter"},
		{addr, "localhost"},
		{addr, "127.0.0.1"},
		// Empty: the dialed host name, sent in SNI.
		{net.JoinHostPort("localhost", port), ""},
	}
	for _, tt := range tests {
		t.Run(tt.target+"/"+tt.serverName, func(t *testing.T) {
			t.Parallel()
			wantOK(t, dial(t, tt.target, tlsx.ClientCredentials(caller, tt.serverName)), want)
		})
	}
}

func TestClientRefusesServer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		server     func(t *testing.T, pki *tlsx.PKI) *tlsx.Reloader
		serverName string
		detail     string
	}{
		{
			name: "certificate from another CA",
			server: func(t *testing.T, pki *tlsx.PKI) *tlsx.Reloader {
				other := generate(t, []string{"greeter"})
				// It would accept our caller: the client is what must refuse.
				trust := bundle(t, filepath.Join(t.TempDir(), "trust.pem"), other.Layout.CACertFile(), pki.Layout.CACertFile())
				return reloader(t, other, "greeter", trust)
			},
			serverName: "greeter",
			detail:     "certificate signed by unknown authority",
		},
		{
			name:       "certificate for another name",
			server:     func(t *testing.T, pki *tlsx.PKI) *tlsx.Reloader { return reloader(t, pki, "greeter", "") },
			serverName: "payment",
			detail:     "not payment",
		},
		{
			name:       "no name to check when dialing an IP address",
			server:     func(t *testing.T, pki *tlsx.PKI) *tlsx.Reloader { return reloader(t, pki, "greeter", "") },
			serverName: "",
			detail:     "no server name",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pki := generate(t, services())
			addr := startServer(t, tlsx.ServerCredentials(tt.server(t, pki), tlsx.ClientCertRequired))
			caller := reloader(t, pki, "caller", "")

			wantRefused(t, dial(t, addr, tlsx.ClientCredentials(caller, tt.serverName)), tt.detail)
		})
	}
}

// TestReloadsCAPool proves the trust bundle is read at each handshake, on
// both sides: a peer from a second CA is refused, then accepted once the
// bundle on disk holds that CA too, with no new Reloader or server.
func TestReloadsCAPool(t *testing.T) {
	t.Parallel()
	t.Run("server", func(t *testing.T) {
		t.Parallel()
		ours, theirs := generate(t, []string{"greeter"}), generate(t, []string{"partner"})
		serverCA := bundle(t, filepath.Join(t.TempDir(), "ca.pem"), ours.Layout.CACertFile())
		addr := startServer(t, tlsx.ServerCredentials(reloader(t, ours, "greeter", serverCA), tlsx.ClientCertRequired))
		partnerCA := bundle(t, filepath.Join(t.TempDir(), "ca.pem"), theirs.Layout.CACertFile(), ours.Layout.CACertFile())
		partner := tlsx.ClientConfig(reloader(t, theirs, "partner", partnerCA), "greeter")

		wantRefused(t, dial(t, addr, credentials.NewTLS(partner)), "")
		if err := refusal(t, addr, partner); err == nil || !strings.Contains(err.Error(), "tls: unknown certificate authority") {
			t.Errorf("TLS connection ended with %v, want unknown certificate authority", err)
		}
		bundle(t, serverCA, ours.Layout.CACertFile(), theirs.Layout.CACertFile())
		// A new ClientConn: the refused one waits out its reconnect backoff.
		wantOK(t, dial(t, addr, credentials.NewTLS(partner)), describeCert(service(t, theirs, "partner").Cert))
	})
	t.Run("client", func(t *testing.T) {
		t.Parallel()
		ours, theirs := generate(t, []string{"caller"}), generate(t, []string{"greeter"})
		serverCA := bundle(t, filepath.Join(t.TempDir(), "ca.pem"), theirs.Layout.CACertFile(), ours.Layout.CACertFile())
		addr := startServer(t, tlsx.ServerCredentials(reloader(t, theirs, "greeter", serverCA), tlsx.ClientCertRequired))
		clientCA := bundle(t, filepath.Join(t.TempDir(), "ca.pem"), ours.Layout.CACertFile())
		caller := tlsx.ClientCredentials(reloader(t, ours, "caller", clientCA), "greeter")

		wantRefused(t, dial(t, addr, caller), "certificate signed by unknown authority")
		bundle(t, clientCA, ours.Layout.CACertFile(), theirs.Layout.CACertFile())
		wantOK(t, dial(t, addr, caller), describeCert(service(t, ours, "caller").Cert))
	})
}

func TestServerConfigIsTLS13Only(t *testing.T) {
	t.Parallel()
	pki := generate(t, services())
	for _, mode := range []tlsx.ClientAuthMode{tlsx.ClientCertRequired, tlsx.ClientCertOptional} {
		outer := tlsx.ServerConfig(reloader(t, pki, "greeter", ""), mode)
		inner, err := outer.GetConfigForClient(&tls.ClientHelloInfo{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []*tls.Config{outer, inner} {
			if c.MinVersion != tls.VersionTLS13 || !c.SessionTicketsDisabled {
				t.Errorf("ServerConfig(%v): MinVersion %x, SessionTicketsDisabled %v; want %x, true",
					mode, c.MinVersion, c.SessionTicketsDisabled, tls.VersionTLS13)
			}
		}
		wantAuth := map[tlsx.ClientAuthMode]tls.ClientAuthType{
			tlsx.ClientCertRequired: tls.RequireAndVerifyClientCert,
			tlsx.ClientCertOptional: tls.VerifyClientCertIfGiven,
		}[mode]
		if inner.ClientAuth != wantAuth {
			t.Errorf("ServerConfig(%v).ClientAuth = %v, want %v", mode, inner.ClientAuth, wantAuth)
		}
	}
	if c := tlsx.ClientConfig(reloader(t, pki, "caller", ""), "greeter"); c.MinVersion != tls.VersionTLS13 {
		t.Errorf("ClientConfig().MinVersion = %x, want %x", c.MinVersion, tls.VersionTLS13)
	}
}

func TestClientAuthModeText(t *testing.T) {
	t.Parallel()
	var _ encoding.TextUnmarshaler = new(tlsx.ClientAuthMode)
	for _, m := range []tlsx.ClientAuthMode{tlsx.ClientCertRequired, tlsx.ClientCertOptional} {
		text, err := m.MarshalText()
		if err != nil {
			t.Fatalf("%v.MarshalText() = %v", m, err)
		}
		var got tlsx.ClientAuthMode
		if err := got.UnmarshalText(text); err != nil || got != m {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v, nil", text, got, err, m)
		}
	}
	if text, err := tlsx.ClientAuthMode(7).MarshalText(); err == nil {
		t.Errorf("ClientAuthMode(7).MarshalText() = %q, nil; want an error", text)
	}

	// As a flag, the way cmd/bazaar reads it; the default fails closed.
	fs := flag.NewFlagSet("bazaar", flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	var mode tlsx.ClientAuthMode
	fs.TextVar(&mode, "tls-client-auth", tlsx.ClientCertRequired, "")
	if mode != tlsx.ClientCertRequired {
		t.Errorf("default mode %v, want required", mode)
	}
	if err := fs.Parse([]string{"-tls-client-auth=optional"}); err != nil || mode != tlsx.ClientCertOptional {
		t.Errorf("Parse(optional) = %v, mode %v; want nil, optional", err, mode)
	}
	if err := fs.Parse([]string{"-tls-client-auth=none"}); err == nil {
		t.Errorf("Parse(none) = nil, want an error")
	}
}
