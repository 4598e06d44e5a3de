package tlsx

import (
	"net/url"
	"path/filepath"
)

// TrustDomain is the SPIFFE trust domain of every Bazaar identity.
const TrustDomain = "bazaar.dev"

// ClientName is the file name stem of the certificate for people and tools
// (client.pem, client-key.pem). It is reserved: no service may use it.
const ClientName = "client"

// caName is the file name stem of the CA (ca.pem, ca-key.pem), reserved
// like ClientName.
const caName = "ca"

// ServiceID returns the SPIFFE ID that names service in its certificate's
// URI SAN, spiffe://bazaar.dev/<service>. A server reads it from a verified
// client certificate to know which service is calling.
func ServiceID(service string) *url.URL {
	return &url.URL{Scheme: "spiffe", Host: TrustDomain, Path: "/" + service}
}

// ClientID returns the SPIFFE ID of the client certificate for people and
// tools, spiffe://bazaar.dev/user/cli. Its path has two segments, so it can
// never be mistaken for a service's one-segment ServiceID: holding it proves
// only that the caller may open a connection, and calls are then
// authorized by their tokens like any external client's.
func ClientID() *url.URL {
	return &url.URL{Scheme: "spiffe", Host: TrustDomain, Path: "/user/cli"}
}

// CertsDir returns where the certificates live under a data directory:
// dataDir/certs.
func CertsDir(dataDir string) string { return filepath.Join(dataDir, "certs") }

// Layout names the files of a development PKI in one directory, so the
// code writing them (GenerateDevPKI) and the code reading them
// (NewReloader's callers) cannot disagree:
//
//	ca.pem, ca-key.pem           the CA certificate (the trust bundle) and its key
//	<service>.pem, <service>-key.pem
//	client.pem, client-key.pem   for people and tools (ClientName)
//
// Key files are readable by their owner only (0600).
type Layout struct {
	// Dir is the directory holding the files, usually CertsDir(dataDir).
	Dir string
}

// CACertFile is the CA certificate, the trust bundle every peer verifies
// against.
func (l Layout) CACertFile() string { return filepath.Join(l.Dir, caName+".pem") }

// CAKeyFile is the CA's private key. Only GenerateDevPKI needs it.
func (l Layout) CAKeyFile() string { return filepath.Join(l.Dir, caName+"-key.pem") }

// CertFile is the certificate of name, a service or ClientName.
func (l Layout) CertFile(name string) string { return filepath.Join(l.Dir, name+".pem") }

// KeyFile is the private key of name, a service or ClientName.
func (l Layout) KeyFile(name string) string { return filepath.Join(l.Dir, name+"-key.pem") }
