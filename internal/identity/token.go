package identity

import (
	"context"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// accessToken is a signed access token and when it expires.
type accessToken struct {
	token      string
	issueTime  time.Time
	expireTime time.Time
}

// signAccessToken signs an access token for subject with the current key.
// kind is auth.User or auth.Client; roles go to users, scopes to clients.
// Token times are whole seconds (the JWT NumericDate precision), so the
// expiry reported to the caller is the one in the token.
func (s *Service) signAccessToken(ctx context.Context, kind auth.PrincipalKind, subject string, roles, scopes []string, now time.Time) (accessToken, error) {
	key, err := s.signingKey(ctx, now)
	if err != nil {
		return accessToken{}, err
	}
	jti, err := s.newTokenID()
	if err != nil {
		return accessToken{}, err
	}
	issued := now.Truncate(time.Second)
	expires := issued.Add(s.cfg.AccessTokenTTL)
	var c auth.AccessClaims
	c.Issuer = s.cfg.Issuer
	c.Subject = subject
	c.Audience = []string{s.cfg.Audience}
	c.ID = jti
	setClaimTime(&c.IssuedAt, issued)
	setClaimTime(&c.ExpiresAt, expires)
	c.Kind = kind.String()
	c.Roles = roles
	if len(scopes) > 0 {
		c.Scope = joinScopes(scopes)
	}
	tok, err := auth.SignAccessToken(auth.SigningKey{ID: key.ID, Private: key.Private}, c)
	if err != nil {
		return accessToken{}, errs.Wrap(err, errs.Internal, "", "signing an access token")
	}
	return accessToken{token: tok, issueTime: issued, expireTime: expires}, nil
}

// setClaimTime sets one of the registered-claim times of auth.AccessClaims
// (a *jwt.NumericDate) without naming the JWT library, which only
// internal/platform/auth imports: T is inferred from the field.
func setClaimTime[T ~struct{ time.Time }](field **T, t time.Time) {
	*field = &T{Time: t}
}
