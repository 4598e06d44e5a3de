package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	identityv1 "github.com/bazaarhq/bazaar/gen/bazaar/identity/v1"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// testPKI is a throwaway CA issuing server and service certificates, as the
// TLS package's certificates are shaped (one SPIFFE URI SAN).
type testPKI struct {
	ca     *x509.Certificate
	caKey  ed25519.PrivateKey
	pool   *x509.CertPool
	serial atomic.Int64
	server tls.Certificate
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{caKey: key, pool: x509.NewCertPool()}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "bazaar test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	if p.ca, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	p.pool.AddCert(p.ca)
	p.serial.Store(1)
	p.server = p.issue(t, func(c *x509.Certificate) {
		c.DNSNames = []string{"localhost"}
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	})
	return p
}

func (p *testPKI) issue(t *testing.T, shape func(*x509.Certificate)) tls.Certificate {
	t.Helper()
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial.Add(1)),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	shape(tmpl)
	der, err := x509.CreateCertificate(nil, tmpl, p.ca, key.Public(), p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// client issues a client certificate with the given URI SANs.
func (p *testPKI) client(t *testing.T, uris ...string) tls.Certificate {
	t.Helper()
	return p.issue(t, func(c *x509.Certificate) {
		c.Subject = pkix.Name{CommonName: "client"}
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		for _, s := range uris {
			u, err := url.Parse(s)
			if err != nil {
				t.Fatalf("url.Parse(%q) = %v", s, err)
			}
			c.URIs = append(c.URIs, u)
		}
	})
}

func (p *testPKI) serverConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{p.server},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    p.pool,
		MinVersion:   tls.VersionTLS13,
	}
}

func (p *testPKI) clientConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      p.pool,
		ServerName:   "localhost",
		MinVersion:   tls.VersionTLS13,
	}
}

// handshake runs a real mutual TLS handshake and returns the server's view
// of it, as a gRPC server would see it.
func (p *testPKI) handshake(t *testing.T, cert tls.Certificate) tls.ConnectionState {
	t.Helper()
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	srv := tls.Server(c1, p.serverConfig())
	errc := make(chan error, 1)
	go func() { errc <- srv.HandshakeContext(t.Context()) }()
	if err := tls.Client(c2, p.clientConfig(cert)).HandshakeContext(t.Context()); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	return srv.ConnectionState()
}

func peerContext(ctx context.Context, state tls.ConnectionState) context.Context {
	return peer.NewContext(ctx, &peer.Peer{
		Addr:     &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4433},
		AuthInfo: credentials.TLSInfo{State: state, CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}},
	})
}

func TestServiceSPIFFEID(t *testing.T) {
	t.Parallel()
	if got, want := auth.ServiceSPIFFEID("order"), "spiffe://bazaar.dev/order"; got != want {
		t.Errorf("ServiceSPIFFEID(order) = %q, want %q", got, want)
	}
}

func TestPeerServiceIdentity(t *testing.T) {
	t.Parallel()
	pki := newPKI(t)
	for _, tc := range []struct {
		name string
		uris []string
		want string
	}{
		{"service", []string{auth.ServiceSPIFFEID("order")}, "order"},
		{"dashed service", []string{auth.ServiceSPIFFEID("notification-worker")}, "notification-worker"},
		{"other URIs ignored", []string{"https://order.bazaar.dev", auth.ServiceSPIFFEID("order")}, "order"},
		{"no URI", nil, ""},
		{"other trust domain", []string{"spiffe://evil.dev/order"}, ""},
		{"trust domain with port", []string{"spiffe://bazaar.dev:443/order"}, ""},
		{"trust domain in upper case", []string{"spiffe://BAZAAR.DEV/order"}, ""},
		{"two segments", []string{"spiffe://bazaar.dev/order/admin"}, ""},
		{"no name", []string{"spiffe://bazaar.dev/"}, ""},
		{"upper-case name", []string{"spiffe://bazaar.dev/Order"}, ""},
		{"escaped name", []string{"spiffe://bazaar.dev/or%64er"}, ""},
		{"query", []string{"spiffe://bazaar.dev/order?admin=1"}, ""},
		{"fragment", []string{"spiffe://bazaar.dev/order#x"}, ""},
		{"user info", []string{"spiffe://admin@bazaar.dev/order"}, ""},
		{"two SPIFFE IDs", []string{auth.ServiceSPIFFEID("order"), auth.ServiceSPIFFEID("payment")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := peerContext(t.Context(), pki.handshake(t, pki.client(t, tc.uris...)))
			got, ok := auth.PeerServiceIdentity(ctx)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("PeerServiceIdentity(%v) = %q, %v; want %q, %v", tc.uris, got, ok, tc.want, tc.want != "")
			}
		})
	}
}

// TestPeerServiceIdentityNeedsVerifiedChain: a certificate the transport
// did not verify names nobody.
func TestPeerServiceIdentityNeedsVerifiedChain(t *testing.T) {
	t.Parallel()
	pki := newPKI(t)
	state := pki.handshake(t, pki.client(t, auth.ServiceSPIFFEID("order")))
	unverified := state
	unverified.VerifiedChains = nil // what RequestClientCert without verification leaves
	for name, ctx := range map[string]context.Context{
		"unverified chain": peerContext(t.Context(), unverified),
		"no peer":          t.Context(),
		"insecure peer":    peer.NewContext(t.Context(), &peer.Peer{Addr: &net.TCPAddr{}}),
	} {
		if got, ok := auth.PeerServiceIdentity(ctx); ok {
			t.Errorf("PeerServiceIdentity(%s) = %q, true; want false", name, got)
		}
	}
	if got, ok := auth.PeerServiceIdentity(peerContext(t.Context(), state)); !ok || got != "order" {
		t.Errorf("PeerServiceIdentity(verified) = %q, %v; want order, true", got, ok)
	}
}

// TestServiceIdentityPolicy: a service identity is admitted where the
// policy lists it and PERMISSION_DENIED where it does not.
func TestServiceIdentityPolicy(t *testing.T) {
	t.Parallel()
	pki := newPKI(t)
	e := newKeyEnv()
	order := pki.handshake(t, pki.client(t, auth.ServiceSPIFFEID("order")))
	userToken := sign(t, e.k1, userClaims(t0, "u1", "customer"))
	orderCtx := func(t *testing.T) context.Context { return peerContext(t.Context(), order) }
	orderWithToken := func(t *testing.T) context.Context { return peerContext(bearer(t, userToken), order) }
	services := func(s ...string) *auth.Policy { return &auth.Policy{Services: s} }
	runAuthorizeCases(t, func() *auth.Authenticator { return e.authenticator(auth.WithPeerIdentities(true)) }, []authorizeCase{
		{name: "listed service", ctx: orderCtx, policy: services("payment", "order")},
		{name: "service on authenticated method", ctx: orderCtx, policy: authenticated},
		{name: "service not listed", ctx: orderCtx, policy: services("payment"), code: codes.PermissionDenied, reason: "POLICY_DENIED"},
		{name: "service on admin method", ctx: orderCtx, policy: adminOnly, code: codes.PermissionDenied, reason: "POLICY_DENIED"},
		// A service forwarding a user's token acts for the user.
		{name: "forwarded token on services method", ctx: orderWithToken, policy: services("order"), code: codes.PermissionDenied, reason: "POLICY_DENIED"},
		{name: "forwarded token on authenticated method", ctx: orderWithToken, policy: authenticated},
	})
	runAuthorizeCases(t, func() *auth.Authenticator { return e.authenticator() }, []authorizeCase{
		{name: "peer identities off", ctx: orderCtx, policy: services("order"), code: codes.Unauthenticated, reason: "CREDENTIALS_REQUIRED"},
	})

	ctx, err := e.authenticator(auth.WithPeerIdentities(true)).Authorize(orderCtx(t), method, services("order"))
	if err != nil {
		t.Fatalf("Authorize(order) = %v", err)
	}
	if p := auth.PrincipalFrom(ctx); p == nil || p.Kind != auth.Service || p.Subject != "order" || p.Key() != "service:order" {
		t.Errorf("PrincipalFrom(order) = %+v, want service order", p)
	}
	if _, ok := ctx.Deadline(); ok {
		t.Errorf("a service identity bounded the call by a deadline; it has no expiry")
	}
	ctx, err = e.authenticator(auth.WithPeerIdentities(true)).Authorize(orderWithToken(t), method, authenticated)
	if p := auth.PrincipalFrom(ctx); err != nil || p.Kind != auth.User || p.Subject != "u1" {
		t.Errorf("Authorize(order forwarding u1's token) = %+v, %v; want user u1", p, err)
	}
}

// serveMTLS serves the IdentityService fake on a grpcx server with a and
// mutual TLS, and returns a client presenting cert.
func serveMTLS(t *testing.T, a *auth.Authenticator, pki *testPKI, cert tls.Certificate) identityv1.IdentityServiceClient {
	t.Helper()
	creds := credentials.NewTLS(pki.serverConfig())
	srv, err := grpcx.NewServer(grpcx.WithAuthorizer(a), grpcx.WithServerOptions(grpc.Creds(creds)))
	if err != nil {
		t.Fatal(err)
	}
	identityv1.RegisterIdentityServiceServer(srv, newFakeIdentity())
	return identityv1.NewIdentityServiceClient(serve(t, srv, credentials.NewTLS(pki.clientConfig(cert))))
}

// TestMTLSEndToEnd runs the Authenticator on a real mTLS gRPC server.
func TestMTLSEndToEnd(t *testing.T) {
	t.Parallel()
	pki := newPKI(t)
	e := newKeyEnv()
	a := e.authenticator(auth.WithPeerIdentities(true))
	order := serveMTLS(t, a, pki, pki.client(t, auth.ServiceSPIFFEID("order")))
	noIdentity := serveMTLS(t, a, pki, pki.client(t))

	me, err := order.GetMe(t.Context(), &identityv1.GetMeRequest{})
	if err != nil || me.GetUser().GetDisplayName() != "service:order" {
		t.Errorf("GetMe(as order) = %v, %v; want service:order", me, err)
	}
	_, err = order.ListUsers(t.Context(), &identityv1.ListUsersRequest{})
	wantCode(t, "ListUsers(as order)", err, codes.PermissionDenied, "POLICY_DENIED")

	token := sign(t, e.k1, userClaims(t0, "u1"))
	me, err = order.GetMe(withBearer(t.Context(), token), &identityv1.GetMeRequest{})
	if err != nil || me.GetUser().GetDisplayName() != "user:u1" {
		t.Errorf("GetMe(order forwarding u1's token) = %v, %v; want user:u1", me, err)
	}

	_, err = noIdentity.GetMe(t.Context(), &identityv1.GetMeRequest{})
	wantCode(t, "GetMe(certificate without identity)", err, codes.Unauthenticated, "CREDENTIALS_REQUIRED")
}
