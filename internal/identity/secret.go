package identity

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/google/uuid"
)

// secretBytes is the entropy of every generated secret: 256 bits.
const secretBytes = 32

// The prefixes of generated secrets and ids. A prefix tells a human (and a
// secret scanner) what a leaked string is, and lets the service refuse a
// secret of the wrong kind without a database lookup.
const (
	secretPrefixRefreshToken = "bzr_"
	secretPrefixAPIKey       = "bzk_"
	secretPrefixClient       = "bzc_"
	secretPrefixPassword     = "bzp_" // generated passwords and the dummy hash
	clientIDPrefix           = "cl_"
)

// secretLength is the length of every generated secret: a prefix of 4 and
// the base64url encoding of secretBytes.
var secretLength = 4 + base64.RawURLEncoding.EncodedLen(secretBytes)

// apiKeyPrefixLength is how much of an API key is kept in clear, to
// recognise it in a list: "bzk_" and 8 random characters (48 bits, enough to
// tell a user's keys apart, far too few to help guess one).
const apiKeyPrefixLength = 12

// newSecretValue returns prefix followed by 32 random bytes, base64url.
func (s *Service) newSecretValue(prefix string) (string, error) {
	b := make([]byte, secretBytes)
	if _, err := io.ReadFull(s.cfg.Random, b); err != nil {
		return "", fmt.Errorf("identity: random secret: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// newSecret returns a new secret and its hash.
func (s *Service) newSecret(prefix string) (secret string, hash []byte, err error) {
	secret, err = s.newSecretValue(prefix)
	if err != nil {
		return "", nil, err
	}
	return secret, hashSecret(secret), nil
}

// hashSecret is how high-entropy secrets are stored: SHA-256 (see the
// package documentation for why not argon2).
func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// wellFormedSecret reports whether secret looks like one newSecret makes
// with prefix, so that garbage is refused before any lookup.
func wellFormedSecret(secret, prefix string) bool {
	rest, ok := strings.CutPrefix(secret, prefix)
	if !ok || len(secret) != secretLength {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(rest)
	return err == nil
}

// newID returns a UUIDv7 (time-ordered, so indexes stay compact) drawn
// from the service's random source.
func (s *Service) newID() (string, error) {
	id, err := uuid.NewV7FromReader(s.cfg.Random)
	if err != nil {
		return "", fmt.Errorf("identity: new id: %w", err)
	}
	return id.String(), nil
}

// newTokenID returns a random token id (jti): 128 bits, base64url.
func (s *Service) newTokenID() (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(s.cfg.Random, b); err != nil {
		return "", fmt.Errorf("identity: token id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// newClientID returns "cl_" and 12 random bytes in hex.
func (s *Service) newClientID() (string, error) {
	b := make([]byte, 12)
	if _, err := io.ReadFull(s.cfg.Random, b); err != nil {
		return "", fmt.Errorf("identity: client id: %w", err)
	}
	return clientIDPrefix + hex.EncodeToString(b), nil
}
