package identity

import (
	"context"
	"crypto/subtle"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// Client is an OAuth2 client-credentials client: a machine caller with
// scopes.
type Client struct {
	// ID is the client_id: "cl_" and 24 hex digits.
	ID   string
	Name string
	// SecretHash is the SHA-256 of the client secret.
	SecretHash []byte
	Scopes     []string
	CreateTime time.Time
}

// CreateClient registers a client with scopes and returns it with its
// secret, which is not stored and cannot be shown again. Errors:
// INVALID_ARGUMENT NAME_INVALID, SCOPES_INVALID (none, or malformed).
func (s *Service) CreateClient(ctx context.Context, name string, scopes []string) (*Client, string, error) {
	name, err := cleanName(name)
	if err != nil {
		return nil, "", err
	}
	scopes, err = cleanScopes("scopes", scopes, ReasonScopesInvalid)
	if err != nil {
		return nil, "", err
	}
	if len(scopes) == 0 {
		return nil, "", invalidField(ReasonScopesInvalid, "scopes", "a client needs at least one scope")
	}
	id, err := s.newClientID()
	if err != nil {
		return nil, "", err
	}
	secret, hash, err := s.newSecret(secretPrefixClient)
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	c := &Client{ID: id, Name: name, SecretHash: hash, Scopes: scopes, CreateTime: now}
	ev := newEvent(TopicClientCreated, id, ClientEvent{ClientID: id, Name: name, Scopes: scopes, Time: now})
	if err := s.store.CreateClient(ctx, c, ev); err != nil {
		return nil, "", storeError(err, "creating client")
	}
	return c, secret, nil
}

// ClientToken is the result of a client-credentials grant.
type ClientToken struct {
	// AccessToken is the JWT.
	AccessToken string
	// ExpireTime is when it expires; ExpiresIn is its lifetime.
	ExpireTime time.Time
	ExpiresIn  time.Duration
	// Scopes are the scopes granted.
	Scopes []string
}

// ClientToken is the OAuth2 client-credentials grant (RFC 6749 section
// 4.4): it checks the client's secret and issues an access token with the
// client's scopes, or with the subset scope names (space-separated; empty
// means all). Errors: UNAUTHENTICATED INVALID_CLIENT for an unknown client
// or a wrong secret alike; INVALID_ARGUMENT INVALID_SCOPE (field "scope")
// for a scope the client does not hold.
func (s *Service) ClientToken(ctx context.Context, clientID, secret, scope string) (*ClientToken, error) {
	c, err := s.store.Client(ctx, clientID)
	want := s.dummySecretHash
	switch {
	case err == nil:
		want = c.SecretHash
	case !errors.Is(err, ErrNotFound):
		return nil, storeError(err, "reading client")
	}
	// Compare in constant time even for an unknown client, so that timing
	// tells nothing about which part was wrong.
	match := subtle.ConstantTimeCompare(hashSecret(secret), want) == 1
	if c == nil || !match {
		return nil, errs.New(errs.Unauthenticated, ReasonInvalidClient, "unknown client or wrong client secret")
	}
	granted := c.Scopes
	if asked := strings.Fields(scope); len(asked) > 0 {
		slices.Sort(asked)
		granted = slices.Compact(asked)
		for _, sc := range granted {
			if !slices.Contains(c.Scopes, sc) {
				return nil, invalidField(ReasonInvalidScope, "scope", "the client does not hold scope "+quote(sc))
			}
		}
	}
	at, err := s.signAccessToken(ctx, auth.Client, c.ID, nil, granted, s.now())
	if err != nil {
		return nil, err
	}
	return &ClientToken{
		AccessToken: at.token, ExpireTime: at.expireTime, ExpiresIn: at.expireTime.Sub(at.issueTime), Scopes: granted,
	}, nil
}
