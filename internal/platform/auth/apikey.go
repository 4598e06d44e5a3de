package auth

import "context"

// APIKeyVerifier tells who an API key belongs to. The Authenticator asks
// it on every call that presents an "x-api-key": there is no cache, so a
// revoked key stops working on the next call. IdentityAPIKeys asks the
// identity service; the identity service itself verifies against its store.
type APIKeyVerifier interface {
	// VerifyAPIKey returns the principal of secret: Kind APIKey, Subject the
	// owner's user id, APIKeyID and the key's Scopes (never the owner's
	// roles). It returns an UNAUTHENTICATED *errs.Error with reason
	// ReasonAPIKeyInvalid for an unknown, expired or revoked key, and an
	// UNAVAILABLE one (ReasonAPIKeyVerifierUnavailable) when it cannot
	// tell now, so that clients retry.
	VerifyAPIKey(ctx context.Context, secret string) (*Principal, error)
}

// maxAPIKeyLen bounds an API key secret, as VerifyApiKeyRequest does.
const maxAPIKeyLen = 256

// wellFormedAPIKey accepts 1 to maxAPIKeyLen visible ASCII characters, so a
// header that cannot be a key is refused before anyone is asked about it.
func wellFormedAPIKey(s string) bool {
	if len(s) == 0 || len(s) > maxAPIKeyLen {
		return false
	}
	for i := range len(s) {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
