package identity

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// APIKey is a user's long-lived credential for programs. It grants its
// scopes, never its owner's roles.
type APIKey struct {
	ID     string
	UserID string
	// Name is the owner's label.
	Name string
	// Prefix is the secret's first characters ("bzk_" and 8 more), shown to
	// recognise it.
	Prefix string
	// Hash is the SHA-256 of the secret.
	Hash   []byte
	Scopes []string
	// CreateTime is when the key was made.
	CreateTime time.Time
	// ExpireTime is when it stops working; zero means never.
	ExpireTime time.Time
	// RevokeTime is when it was revoked; zero while it works.
	RevokeTime time.Time
}

// ValidAt reports whether k works at t: not revoked, not expired.
func (k *APIKey) ValidAt(t time.Time) bool {
	return k.RevokeTime.IsZero() && (k.ExpireTime.IsZero() || t.Before(k.ExpireTime))
}

// Principal returns the caller k authenticates.
func (k *APIKey) Principal() *auth.Principal {
	return &auth.Principal{
		Kind: auth.APIKey, Subject: k.UserID, Scopes: slices.Clone(k.Scopes), APIKeyID: k.ID, Expiry: k.ExpireTime,
	}
}

var scopePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}:[a-z][a-z0-9_-]{0,31}$`)

const (
	maxScopes     = 32
	maxNameLength = 100
)

// cleanScopes checks scopes ("service:action", at most 32, no duplicates)
// and returns them sorted. field names the request field in errors.
func cleanScopes(field string, scopes []string, reason string) ([]string, error) {
	if len(scopes) > maxScopes {
		return nil, invalidField(reason, field, "at most 32 scopes")
	}
	out := slices.Clone(scopes)
	slices.Sort(out)
	for i, sc := range out {
		if !scopePattern.MatchString(sc) {
			return nil, invalidField(reason, field, "scope "+quote(sc)+" must look like service:action")
		}
		if i > 0 && out[i-1] == sc {
			return nil, invalidField(reason, field, "scope "+quote(sc)+" is listed twice")
		}
	}
	return nonNil(out), nil
}

func joinScopes(scopes []string) string { return strings.Join(scopes, " ") }

// cleanName checks a label: 1 to 100 characters once trimmed.
func cleanName(name string) (string, error) {
	n := strings.TrimSpace(name)
	if n == "" || !utf8.ValidString(n) || utf8.RuneCountInString(n) > maxNameLength {
		return "", invalidField(ReasonNameInvalid, "name", "must be 1 to 100 characters")
	}
	return n, nil
}

// NewAPIKey is what CreateAPIKey needs.
type NewAPIKey struct {
	Name   string
	Scopes []string
	// ExpireTime is optional (zero: never); it must be in the future.
	ExpireTime time.Time
}

// CreateAPIKey makes an API key for the caller and returns it with its
// secret, which is not stored and cannot be shown again. Only a signed-in
// user may create keys: a key created with another key would outlive the
// revocation of the first. Errors: those of Me; PERMISSION_DENIED
// SIGN_IN_REQUIRED for an API key caller; INVALID_ARGUMENT NAME_INVALID,
// SCOPES_INVALID, EXPIRE_TIME_INVALID; PERMISSION_DENIED
// SCOPE_NOT_GRANTABLE for a scope the user may not grant
// (Config.CanGrantScope).
func (s *Service) CreateAPIKey(ctx context.Context, p *auth.Principal, req NewAPIKey) (*APIKey, string, error) {
	uid, err := callerUserID(p)
	if err != nil {
		return nil, "", err
	}
	if p.Kind != auth.User {
		return nil, "", errs.New(errs.PermissionDenied, ReasonSignInRequired, "API keys are created by a signed-in user, not with an API key")
	}
	name, err := cleanName(req.Name)
	if err != nil {
		return nil, "", err
	}
	scopes, err := cleanScopes("scopes", req.Scopes, ReasonScopesInvalid)
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	expire := req.ExpireTime
	if !expire.IsZero() {
		expire = expire.UTC().Truncate(time.Microsecond)
		if !expire.After(now) {
			return nil, "", invalidField(ReasonExpireTimeInvalid, "expire_time", "must be in the future")
		}
	}
	// The stored roles, not the token's: they may have changed since.
	u, err := s.User(ctx, uid)
	if err != nil {
		return nil, "", err
	}
	for _, sc := range scopes {
		if !s.cfg.CanGrantScope(u.Roles, sc) {
			return nil, "", errs.New(errs.PermissionDenied, ReasonScopeNotGrantable,
				"your roles do not allow granting scope "+quote(sc), errs.WithFieldViolation("scopes", "scope "+quote(sc)+" is not yours to grant"))
		}
	}
	id, err := s.newID()
	if err != nil {
		return nil, "", err
	}
	secret, hash, err := s.newSecret(secretPrefixAPIKey)
	if err != nil {
		return nil, "", err
	}
	k := &APIKey{
		ID: id, UserID: uid, Name: name, Prefix: secret[:apiKeyPrefixLength], Hash: hash,
		Scopes: scopes, CreateTime: now, ExpireTime: expire,
	}
	switch err := s.store.CreateAPIKey(ctx, k, apiKeyEvent(TopicAPIKeyCreated, k, now)); {
	case errors.Is(err, ErrNotFound):
		return nil, "", errUserNotFound(uid)
	case err != nil:
		return nil, "", storeError(err, "creating API key")
	}
	return k, secret, nil
}

// APIKeys returns the caller's API keys, newest first, revoked and expired
// ones included. Errors: those of Me.
func (s *Service) APIKeys(ctx context.Context, p *auth.Principal) ([]*APIKey, error) {
	uid, err := callerUserID(p)
	if err != nil {
		return nil, err
	}
	keys, err := s.store.APIKeys(ctx, uid)
	if err != nil {
		return nil, storeError(err, "listing API keys")
	}
	return keys, nil
}

func errAPIKeyNotFound(id string) *errs.Error {
	return errs.New(errs.NotFound, ReasonAPIKeyNotFound, "API key not found", errs.WithResource("api_key", id, ""))
}

// RevokeAPIKey revokes one of the caller's API keys; it stops working at
// once. Revoking a revoked key changes nothing. Errors: those of Me;
// NOT_FOUND API_KEY_NOT_FOUND for a key that does not exist or belongs to
// someone else (no existence leak).
func (s *Service) RevokeAPIKey(ctx context.Context, p *auth.Principal, id string) (*APIKey, error) {
	uid, err := callerUserID(p)
	if err != nil {
		return nil, err
	}
	now := s.now()
	k, err := s.store.UpdateAPIKey(ctx, id, func(k *APIKey) ([]Event, error) {
		if k.UserID != uid {
			return nil, errAPIKeyNotFound(id)
		}
		if !k.RevokeTime.IsZero() {
			return nil, nil
		}
		k.RevokeTime = now
		return []Event{apiKeyEvent(TopicAPIKeyRevoked, k, now)}, nil
	})
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, errAPIKeyNotFound(id)
	case errs.KindOfError(err) == errs.NotFound:
		return nil, err
	case err != nil:
		return nil, storeError(err, "revoking API key")
	}
	return k, nil
}

// VerifyAPIKey returns the caller an API key secret authenticates (Kind
// APIKey, Subject the owner's id, APIKeyID, the key's Scopes and its
// expiry), if the key works now. The signature is auth.APIKeyVerifier's, so
// a process can hand the service to its authenticator directly. Errors:
// UNAUTHENTICATED API_KEY_INVALID for a malformed, unknown, expired or
// revoked key, indistinguishably.
func (s *Service) VerifyAPIKey(ctx context.Context, secret string) (*auth.Principal, error) {
	invalid := errs.New(errs.Unauthenticated, ReasonAPIKeyInvalid, "the API key is not valid")
	if !wellFormedSecret(secret, secretPrefixAPIKey) {
		return nil, invalid
	}
	// A lookup by hash leaks nothing through timing: finding a key needs a
	// preimage of its SHA-256.
	k, err := s.store.APIKeyByHash(ctx, hashSecret(secret))
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, invalid
	case err != nil:
		return nil, storeError(err, "reading API key")
	}
	if !k.ValidAt(s.now()) {
		return nil, invalid
	}
	return k.Principal(), nil
}
