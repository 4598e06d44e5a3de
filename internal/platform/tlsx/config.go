package tlsx

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"google.golang.org/grpc/credentials"
)

// ClientAuthMode says whether a server demands a client certificate.
// Either way a certificate that is presented must chain to the CA, be
// within its validity period and allow client authentication, or the
// handshake is refused.
type ClientAuthMode uint8

// The client authentication modes. The zero value is the strict one, so a
// forgotten setting fails closed.
const (
	// ClientCertRequired refuses a handshake without a valid client
	// certificate (tls.RequireAndVerifyClientCert): for listeners only
	// other services reach.
	ClientCertRequired ClientAuthMode = iota
	// ClientCertOptional accepts a handshake without a client certificate
	// (tls.VerifyClientCertIfGiven): for listeners external clients such as
	// grpcurl or the gateway reach too, which authenticate each call with a
	// token instead, while services still present their certificates.
	ClientCertOptional
)

// String returns "required" or "optional".
func (m ClientAuthMode) String() string {
	switch m {
	case ClientCertRequired:
		return "required"
	case ClientCertOptional:
		return "optional"
	}
	return fmt.Sprintf("ClientAuthMode(%d)", uint8(m))
}

// MarshalText implements encoding.TextMarshaler (see String).
func (m ClientAuthMode) MarshalText() ([]byte, error) {
	if m > ClientCertOptional {
		return nil, fmt.Errorf("tlsx: invalid client auth mode %d", uint8(m))
	}
	return []byte(m.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler, so the mode can be a
// flag (flag.TextVar) or a BAZAAR_* variable: "required" or "optional".
func (m *ClientAuthMode) UnmarshalText(text []byte) error {
	switch string(text) {
	case "required":
		*m = ClientCertRequired
	case "optional":
		*m = ClientCertOptional
	default:
		return fmt.Errorf("tlsx: client auth mode %q: want required or optional", text)
	}
	return nil
}

// tlsClientAuth maps the mode to crypto/tls; an invalid value fails closed.
func (m ClientAuthMode) tlsClientAuth() tls.ClientAuthType {
	if m == ClientCertOptional {
		return tls.VerifyClientCertIfGiven
	}
	return tls.RequireAndVerifyClientCert
}

// ServerConfig returns a server configuration for TLS 1.3 only, presenting
// r's certificate and verifying client certificates against r's CA pool as
// mode says. Both are taken from r at each handshake (GetConfigForClient),
// so a rotated certificate or trust bundle applies to the next connection
// without a restart, while established connections keep theirs.
//
// Session tickets are off: a resumed TLS 1.3 session skips the certificate
// exchange, and every connection should prove itself against the current
// files. Bazaar's connections are long-lived HTTP/2, so full handshakes
// cost little.
//
// NextProtos is {"h2"}, all gRPC speaks. An http.Server that must also
// serve HTTP/1.1 clients sets it to {"h2", "http/1.1"} on the returned
// configuration before use: each handshake copies it from there.
func ServerConfig(r *Reloader, mode ClientAuthMode) *tls.Config {
	cfg := &tls.Config{
		MinVersion:             tls.VersionTLS13,
		NextProtos:             []string{"h2"},
		SessionTicketsDisabled: true,
	}
	cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		m := r.material()
		return &tls.Config{
			MinVersion:             tls.VersionTLS13,
			Certificates:           []tls.Certificate{m.cert},
			ClientAuth:             mode.tlsClientAuth(),
			ClientCAs:              m.pool,
			NextProtos:             cfg.NextProtos,
			SessionTicketsDisabled: true,
		}, nil
	}
	return cfg
}

// ClientConfig returns a client configuration for TLS 1.3 only that
// presents r's certificate when the server asks for one and accepts only a
// server certificate that chains to r's CA pool, names serverName, and
// allows server authentication. Both certificate and pool are taken from r
// at each handshake.
//
// crypto/tls has no per-handshake hook that could swap RootCAs on the
// client, so the configuration sets InsecureSkipVerify, which only turns
// off the built-in check, and performs the same full verification itself
// in VerifyConnection against the current pool (the pattern the crypto/tls
// documentation gives for custom verification). A handshake is therefore
// never accepted unverified. The verified chains are not recorded in
// tls.ConnectionState.VerifiedChains on the client.
//
// serverName is the name the server's certificate must carry: a service
// name (every service certificate has it as a DNS SAN), "localhost" or an
// IP address. Empty means the name sent in SNI, which is the host dialed;
// an IP address is never sent in SNI, so a client dialing an IP with an
// empty serverName refuses every server rather than checking no name.
func ClientConfig(r *Reloader, serverName string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		ServerName: serverName,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return r.Certificate(), nil
		},
		InsecureSkipVerify: true, // verified in VerifyConnection, see above
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verifyServer(cs, serverName, r.CAPool())
		},
	}
}

// verifyServer is crypto/tls's own server verification with roots given at
// handshake time.
func verifyServer(cs tls.ConnectionState, serverName string, roots *x509.CertPool) error {
	if serverName == "" {
		serverName = cs.ServerName
	}
	if serverName == "" {
		return errors.New("tlsx: no server name to verify the server certificate against (dialing an IP address? pass serverName)")
	}
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tlsx: server presented no certificate")
	}
	opts := x509.VerifyOptions{
		Roots:         roots,
		DNSName:       serverName,
		Intermediates: x509.NewCertPool(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
	}
	return nil
}

// ServerCredentials is ServerConfig as gRPC transport credentials, for
// grpcx.WithServerOptions(grpc.Creds(...)).
func ServerCredentials(r *Reloader, mode ClientAuthMode) credentials.TransportCredentials {
	return credentials.NewTLS(ServerConfig(r, mode))
}

// ClientCredentials is ClientConfig as gRPC transport credentials, for
// grpcx.WithTransportCredentials. A non-empty serverName is also the
// :authority of every call.
func ClientCredentials(r *Reloader, serverName string) credentials.TransportCredentials {
	return credentials.NewTLS(ClientConfig(r, serverName))
}
