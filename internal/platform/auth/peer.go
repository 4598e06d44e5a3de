package auth

import (
	"context"
	"crypto/x509"
	"net/url"
	"strings"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// TrustDomain is the SPIFFE trust domain of Bazaar's service identities.
const TrustDomain = "bazaar.dev"

// ServiceSPIFFEID returns the SPIFFE ID a service's certificate carries as
// its one URI SAN: "spiffe://bazaar.dev/<name>".
func ServiceSPIFFEID(name string) string {
	return "spiffe://" + TrustDomain + "/" + name
}

// PeerServiceIdentity returns the name of the Bazaar service calling on
// ctx's connection, taken from its mTLS client certificate. It reports
// false unless the transport verified the certificate chain (a server
// whose TLS config requires and verifies client certificates) and the
// leaf carries exactly one SPIFFE ID, in TrustDomain, naming a service
// (see ServiceSPIFFEID). Certificate expiry and revocation are the
// handshake's business; the identity holds for the connection's life.
func PeerServiceIdentity(ctx context.Context) (string, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return "", false
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
		return "", false
	}
	return serviceIdentity(info.State.VerifiedChains[0][0])
}

// serviceIdentity reads the SPIFFE ID of a verified leaf certificate. More
// than one SPIFFE ID is ambiguous and is refused, as SPIFFE X.509-SVIDs
// carry exactly one.
func serviceIdentity(leaf *x509.Certificate) (string, bool) {
	name, found := "", false
	for _, u := range leaf.URIs {
		if u.Scheme != "spiffe" {
			continue
		}
		if found {
			return "", false
		}
		found = true
		name, _ = serviceName(u)
	}
	return name, name != ""
}

// serviceName returns the service a Bazaar SPIFFE ID names, or false if u
// is not one: another trust domain, a path of more than one segment, or
// anything beyond scheme, host and path.
func serviceName(u *url.URL) (string, bool) {
	if u.Host != TrustDomain || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" ||
		u.RawPath != "" || u.ForceQuery {
		return "", false
	}
	name, ok := strings.CutPrefix(u.Path, "/")
	if !ok || !validServiceName(name) {
		return "", false
	}
	return name, true
}

// validServiceName accepts lower-case names like "order" or
// "notification-worker": a letter, then up to 62 letters, digits or dashes.
func validServiceName(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}
