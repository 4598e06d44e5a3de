package tlsx

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"slices"
	"time"
)

// Default validity periods: long enough for a laptop to forget about the
// CA, short enough that leaf rotation is routine rather than an event.
const (
	DefaultCAValidity   = 10 * 365 * 24 * time.Hour
	DefaultLeafValidity = 90 * 24 * time.Hour
)

// backdate moves NotBefore into the past, so a certificate issued on one
// machine is already valid on another whose clock is slightly behind.
const backdate = time.Minute

// organization names every certificate's subject, to mark it as
// development material to anyone inspecting it.
const organization = "Bazaar (development)"

// GenerateOption configures GenerateDevPKI.
type GenerateOption interface{ applyGenerate(*generateConfig) }

type generateOptionFunc func(*generateConfig)

func (f generateOptionFunc) applyGenerate(c *generateConfig) { f(c) }

type generateConfig struct {
	caValidity   time.Duration
	leafValidity time.Duration
	renew        bool
	force        bool
	extraDNS     []string
	extraIPs     []net.IP
}

// WithCAValidity sets how long a newly created CA is valid. Default
// DefaultCAValidity (10 years). An existing CA is kept with its own
// validity.
func WithCAValidity(d time.Duration) GenerateOption {
	return generateOptionFunc(func(c *generateConfig) { c.caValidity = d })
}

// WithLeafValidity sets how long a newly issued service or client
// certificate is valid; it never outlives its CA. Default
// DefaultLeafValidity (90 days).
func WithLeafValidity(d time.Duration) GenerateOption {
	return generateOptionFunc(func(c *generateConfig) { c.leafValidity = d })
}

// WithRenew re-issues every service and client certificate, with new keys,
// from the existing CA even when they are still valid: a rotation that
// peers accept without any change on their side. Default off: valid
// certificates are kept.
func WithRenew() GenerateOption {
	return generateOptionFunc(func(c *generateConfig) { c.renew = true })
}

// WithForce replaces the CA and every certificate, even when valid. Peers
// trust the new CA only once they have read the new ca.pem, so connections
// between processes that switched at different moments fail until all have;
// prefer WithRenew for a rotation. Default off.
func WithForce() GenerateOption {
	return generateOptionFunc(func(c *generateConfig) { c.force = true })
}

// WithExtraNames adds host names or IP addresses to every service
// certificate, beyond localhost, 127.0.0.1, ::1 and the service's own name:
// for instance the names a deployment reaches services by
// ("catalog.bazaar.svc"). A name that parses as an IP address becomes an IP
// SAN, any other a DNS SAN. Default none.
func WithExtraNames(names ...string) GenerateOption {
	return generateOptionFunc(func(c *generateConfig) {
		for _, n := range names {
			if ip := net.ParseIP(n); ip != nil {
				c.extraIPs = append(c.extraIPs, ip)
			} else {
				c.extraDNS = append(c.extraDNS, n)
			}
		}
	})
}

// PKI describes the development PKI GenerateDevPKI left on disk.
type PKI struct {
	// Layout names the files.
	Layout Layout
	// CA is the certificate authority.
	CA KeyPair
	// Services holds one certificate per service, in the order given.
	Services []KeyPair
	// Client is the certificate for people and tools (ClientName).
	Client KeyPair
}

// KeyPair is one certificate of a PKI, with the files holding it and its
// private key.
type KeyPair struct {
	// Name is "ca", the service name, or ClientName.
	Name     string
	CertFile string
	KeyFile  string
	// Cert is the parsed certificate: serial number, validity, SANs.
	Cert *x509.Certificate
	// Reused is true when a valid existing file was kept, false when the
	// certificate was issued by this call.
	Reused bool
}

// GenerateDevPKI creates or completes a development PKI in dir (see Layout
// for the files): an ECDSA P-256 CA, one certificate per service and a
// client certificate for people and tools. P-256 is chosen over Ed25519
// because every TLS stack, openssl and grpcurl included, accepts it.
//
// A service certificate's SANs are its identity, URI ServiceID(service)
// (spiffe://bazaar.dev/<service>), and where it may be reached: DNS
// localhost and the service name, IP 127.0.0.1 and ::1, and WithExtraNames.
// It is valid for both server and client authentication, since a service
// both serves and calls. The client certificate carries only URI ClientID()
// (spiffe://bazaar.dev/user/cli) and client authentication.
//
// It is idempotent, so `bazaar certs` can run at every start: a CA is kept
// until it expires, and an existing certificate is kept while it matches its
// key, chains to the CA, has the SANs and key usages it would be issued
// with and has more than a third of its lifetime left (the renewal point
// cert-manager uses). Anything else is issued anew; a new CA re-issues
// every certificate. WithRenew and WithForce override this.
//
// Every file is written atomically (a temporary file renamed over the old
// one), so a Reloader never reads a half-written file; it may read a new
// certificate next to the old key for a moment, which it rejects until the
// pair matches again. Keys are written 0600, the directory is created 0750.
//
// It returns an error for a service name that is not a lowercase DNS label
// (a-z, 0-9, '-'), a duplicate or reserved name ("ca", ClientName), a
// validity that is not positive, or a file it cannot write.
func GenerateDevPKI(dir string, services []string, opts ...GenerateOption) (*PKI, error) {
	cfg := generateConfig{caValidity: DefaultCAValidity, leafValidity: DefaultLeafValidity}
	for _, o := range opts {
		o.applyGenerate(&cfg)
	}
	if err := cfg.validate(services); err != nil {
		return nil, fmt.Errorf("tlsx: generate dev PKI: %w", err)
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("tlsx: generate dev PKI: %w", err)
	}
	l := Layout{Dir: dir}
	now := time.Now()

	ca, caKey, err := l.ensureCA(cfg, now)
	if err != nil {
		return nil, fmt.Errorf("tlsx: generate dev PKI: %w", err)
	}
	pki := &PKI{Layout: l, CA: ca, Services: make([]KeyPair, 0, len(services))}
	// A new CA invalidates every leaf; ensureLeaf would notice that they no
	// longer chain, but saying so is clearer.
	reissue := cfg.renew || cfg.force || !ca.Reused
	for _, s := range services {
		c, err := l.ensureLeaf(s, cfg.serviceTemplate(s), ca.Cert, caKey, cfg.leafValidity, reissue, now)
		if err != nil {
			return nil, fmt.Errorf("tlsx: generate dev PKI: %w", err)
		}
		pki.Services = append(pki.Services, c)
	}
	pki.Client, err = l.ensureLeaf(ClientName, clientTemplate(), ca.Cert, caKey, cfg.leafValidity, reissue, now)
	if err != nil {
		return nil, fmt.Errorf("tlsx: generate dev PKI: %w", err)
	}
	return pki, nil
}

func (c *generateConfig) validate(services []string) error {
	var errs []error
	if c.caValidity <= 0 {
		errs = append(errs, fmt.Errorf("CA validity %v is not positive", c.caValidity))
	}
	if c.leafValidity <= 0 {
		errs = append(errs, fmt.Errorf("leaf validity %v is not positive", c.leafValidity))
	}
	for _, n := range c.extraDNS {
		if n == "" {
			errs = append(errs, errors.New("empty extra name"))
		}
	}
	seen := make(map[string]bool, len(services))
	for _, s := range services {
		switch {
		case s == caName || s == ClientName:
			errs = append(errs, fmt.Errorf("service name %q is reserved", s))
		case !isDNSLabel(s):
			errs = append(errs, fmt.Errorf("service name %q is not a lowercase DNS label (a-z, 0-9, '-')", s))
		case seen[s]:
			errs = append(errs, fmt.Errorf("service %q given twice", s))
		}
		seen[s] = true
	}
	return errors.Join(errs...)
}

// isDNSLabel reports whether s is a lowercase DNS label (RFC 1123): 1 to 63
// of a-z, 0-9 and '-', starting with a letter and not ending with '-'. Such
// a name is usable as a host name, a SPIFFE path segment and a file name at
// once.
func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

// ensureCA returns the valid CA in l, or creates one.
func (l Layout) ensureCA(cfg generateConfig, now time.Time) (KeyPair, crypto.Signer, error) {
	c := KeyPair{Name: caName, CertFile: l.CACertFile(), KeyFile: l.CAKeyFile()}
	if !cfg.force {
		if cert, key, ok := loadCA(c.CertFile, c.KeyFile, now); ok {
			c.Cert, c.Reused = cert, true
			return c, key, nil
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return c, nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return c, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Bazaar development CA", Organization: []string{organization}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(cfg.caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true, // it signs leaves only
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return c, nil, fmt.Errorf("create CA certificate: %w", err)
	}
	if c.Cert, err = x509.ParseCertificate(der); err != nil {
		return c, nil, err
	}
	if err := writeKeyPair(c, der, key); err != nil {
		return c, nil, err
	}
	return c, key, nil
}

// loadCA reads the CA and its key; ok is false when they are missing,
// unreadable, mismatched or outside the CA's validity period. A CA is kept
// until it expires: replacing it early would break every peer still
// trusting the old one.
func loadCA(certFile, keyFile string, now time.Time) (*x509.Certificate, crypto.Signer, bool) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, false
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, false
	}
	// ca.pem may have been made a bundle (old and new CA during a
	// migration); the CA is the certificate that matches the key.
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, nil, false
	}
	key, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, nil, false
	}
	certs, err := decodeCertificates(certPEM)
	if err != nil {
		return nil, nil, false
	}
	for _, c := range certs {
		if c.IsCA && c.BasicConstraintsValid && c.KeyUsage&x509.KeyUsageCertSign != 0 &&
			publicKeysEqual(c.PublicKey, key.Public()) && !now.Before(c.NotBefore) && now.Before(c.NotAfter) {
			return c, key, true
		}
	}
	return nil, nil, false
}

// ensureLeaf returns the valid certificate of name in l, or issues one from
// tmpl (whose SANs and key usages define "valid").
func (l Layout) ensureLeaf(name string, tmpl *x509.Certificate, ca *x509.Certificate, caKey crypto.Signer,
	validity time.Duration, reissue bool, now time.Time) (KeyPair, error) {
	c := KeyPair{Name: name, CertFile: l.CertFile(name), KeyFile: l.KeyFile(name)}
	if !reissue {
		if cert, ok := loadLeaf(c.CertFile, c.KeyFile, tmpl, ca, now); ok {
			c.Cert, c.Reused = cert, true
			return c, nil
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return c, err
	}
	if tmpl.SerialNumber, err = newSerial(); err != nil {
		return c, err
	}
	tmpl.NotBefore = now.Add(-backdate)
	tmpl.NotAfter = now.Add(validity)
	if tmpl.NotAfter.After(ca.NotAfter) {
		tmpl.NotAfter = ca.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return c, fmt.Errorf("issue certificate %q: %w", name, err)
	}
	if c.Cert, err = x509.ParseCertificate(der); err != nil {
		return c, err
	}
	if err := writeKeyPair(c, der, key); err != nil {
		return c, err
	}
	return c, nil
}

// loadLeaf reads an issued certificate; ok is false when it is missing,
// unreadable, does not match its key, does not chain to ca, is due for
// renewal, or differs from tmpl in its SANs or key usages.
func loadLeaf(certFile, keyFile string, tmpl, ca *x509.Certificate, now time.Time) (*x509.Certificate, bool) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, false
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, false
	}
	certs, err := decodeCertificates(certPEM)
	if err != nil || len(certs) != 1 {
		return nil, false
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return nil, false
	}
	leaf := certs[0]
	if leaf.CheckSignatureFrom(ca) != nil || !fresh(leaf, now) {
		return nil, false
	}
	same := slices.Equal(leaf.ExtKeyUsage, tmpl.ExtKeyUsage) &&
		slices.Equal(leaf.DNSNames, tmpl.DNSNames) &&
		slices.EqualFunc(leaf.IPAddresses, tmpl.IPAddresses, net.IP.Equal) &&
		slices.EqualFunc(leaf.URIs, tmpl.URIs, func(a, b *url.URL) bool { return a.String() == b.String() })
	return leaf, same
}

// fresh reports whether c is valid at now with more than a third of its
// lifetime left.
func fresh(c *x509.Certificate, now time.Time) bool {
	lifetime := c.NotAfter.Sub(c.NotBefore)
	return !now.Before(c.NotBefore) && c.NotAfter.Sub(now) > lifetime/3
}

func (c *generateConfig) serviceTemplate(service string) *x509.Certificate {
	dns := append([]string{"localhost", service}, c.extraDNS...)
	ips := append([]net.IP{net.IPv4(127, 0, 0, 1).To4(), net.IPv6loopback}, c.extraIPs...)
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: service, Organization: []string{organization}},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:    dns,
		IPAddresses: ips,
		URIs:        []*url.URL{ServiceID(service)},
	}
}

func clientTemplate() *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: "bazaar-cli", Organization: []string{organization}},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		URIs:        []*url.URL{ClientID()},
	}
}

// writeKeyPair writes the key before the certificate: a crash in between
// leaves a pair that does not match, which the next run re-issues.
func writeKeyPair(c KeyPair, certDER []byte, key *ecdsa.PrivateKey) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(c.KeyFile, encodePEM("PRIVATE KEY", keyDER), keyFileMode); err != nil {
		return fmt.Errorf("write %s: %w", c.KeyFile, err)
	}
	if err := writeFileAtomic(c.CertFile, encodePEM("CERTIFICATE", certDER), certFileMode); err != nil {
		return fmt.Errorf("write %s: %w", c.CertFile, err)
	}
	return nil
}

// newSerial returns a random 128-bit serial number, as RFC 5280 and the
// CA/Browser Forum ask (unpredictable, positive, at most 20 octets).
func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	return n.Add(n, big.NewInt(1)), nil // never zero
}

// publicKeysEqual compares two public keys of any type the standard library
// produces.
func publicKeysEqual(a, b crypto.PublicKey) bool {
	ak, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ak.Equal(b)
}
