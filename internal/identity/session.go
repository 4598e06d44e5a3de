package identity

import (
	"context"
	"errors"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// Session is one sign-in: the family of refresh tokens that Login starts
// and each Refresh extends. Revoking it kills every one of its tokens.
type Session struct {
	ID     string
	UserID string
	// CreateTime is when the user logged in.
	CreateTime time.Time
	// RevokeTime is when the session was ended; zero while it lives.
	RevokeTime time.Time
	// RevokeReason is one of the RevokedBy* constants.
	RevokeReason string
}

// Revoked reports whether the session has been ended.
func (s *Session) Revoked() bool { return !s.RevokeTime.IsZero() }

// RefreshToken is a stored refresh token: only its hash, never the token.
type RefreshToken struct {
	// Hash is the SHA-256 of the token.
	Hash       []byte
	SessionID  string
	CreateTime time.Time
	ExpireTime time.Time
	// UseTime is when the token was spent by a refresh; zero while unused.
	UseTime time.Time
}

// TokenPair is what Login and Refresh hand out.
type TokenPair struct {
	// AccessToken is a JWT for "authorization: Bearer".
	AccessToken           string
	AccessTokenExpireTime time.Time
	// RefreshToken obtains the next pair, once.
	RefreshToken           string
	RefreshTokenExpireTime time.Time
}

// Login checks an email and password and starts a session. Errors:
// INVALID_ARGUMENT EMAIL_INVALID for an email that is blank once trimmed;
// UNAUTHENTICATED INVALID_CREDENTIALS for an unknown email or a wrong
// password alike, in the same time. A password hashed with weaker
// parameters than the configured ones is re-hashed on the way.
func (s *Service) Login(ctx context.Context, email, password string) (*User, *TokenPair, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.store.UserByEmail(ctx, email)
	switch {
	case errors.Is(err, ErrNotFound):
		// Spend the time a real check spends, then fail the same way.
		_, _, _ = VerifyPassword(s.dummyHash, password)
		return nil, nil, errInvalidCredentials()
	case err != nil:
		return nil, nil, storeError(err, "reading user")
	}
	ok, params, err := VerifyPassword(u.PasswordHash, password)
	switch {
	case err != nil:
		return nil, nil, errs.Wrap(err, errs.Internal, "", "checking a password")
	case !ok:
		return nil, nil, errInvalidCredentials()
	}
	if params.weakerThan(s.cfg.Argon2) {
		s.rehash(ctx, u, password)
	}

	now := s.now()
	sid, err := s.newID()
	if err != nil {
		return nil, nil, err
	}
	sess := &Session{ID: sid, UserID: u.ID, CreateTime: now}
	pair, rt, err := s.newTokenPair(ctx, u, sid, now)
	if err != nil {
		return nil, nil, err
	}
	if err := s.store.CreateSession(ctx, sess, rt, sessionEvent(TopicSessionStarted, sess, now, "")); err != nil {
		return nil, nil, storeError(err, "creating session")
	}
	return u, pair, nil
}

// rehash stores a new hash of password with the configured parameters. A
// failure only costs the upgrade, so it is logged, not returned.
func (s *Service) rehash(ctx context.Context, u *User, password string) {
	h, err := HashPassword(password, s.cfg.Argon2, s.cfg.Random)
	if err == nil {
		old := u.PasswordHash
		_, err = s.store.UpdateUser(ctx, u.ID, func(cur *User) (UserChange, error) {
			if cur.PasswordHash == old { // unless it changed meanwhile
				cur.PasswordHash = h
			}
			return UserChange{}, nil
		})
	}
	if err != nil {
		s.cfg.Logger.WarnContext(ctx, "identity: re-hashing a password failed", "user_id", u.ID, "error", err)
	}
}

// newTokenPair signs an access token for u and makes a refresh token in
// session sid.
func (s *Service) newTokenPair(ctx context.Context, u *User, sid string, now time.Time) (*TokenPair, *RefreshToken, error) {
	secret, hash, err := s.newSecret(secretPrefixRefreshToken)
	if err != nil {
		return nil, nil, err
	}
	at, err := s.signAccessToken(ctx, auth.User, u.ID, u.Roles, nil, now)
	if err != nil {
		return nil, nil, err
	}
	rt := &RefreshToken{Hash: hash, SessionID: sid, CreateTime: now, ExpireTime: now.Add(s.cfg.RefreshTokenTTL)}
	return &TokenPair{
		AccessToken: at.token, AccessTokenExpireTime: at.expireTime,
		RefreshToken: secret, RefreshTokenExpireTime: rt.ExpireTime,
	}, rt, nil
}

func errRefreshTokenInvalid() *errs.Error {
	return errs.New(errs.Unauthenticated, ReasonRefreshTokenInvalid, "the refresh token is not valid; sign in again")
}

// Refresh spends a refresh token and returns the next token pair of its
// session, with the user's current roles. Errors, all UNAUTHENTICATED:
// REFRESH_TOKEN_INVALID (unknown or malformed), REFRESH_TOKEN_EXPIRED,
// SESSION_REVOKED, and REFRESH_TOKEN_REUSED for a token already spent (the
// session is revoked then, so its newest token stops working too). Of two
// concurrent refreshes with one token, exactly one succeeds and the other
// is a reuse.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (*TokenPair, error) {
	if !wellFormedSecret(refreshToken, secretPrefixRefreshToken) {
		return nil, errRefreshTokenInvalid()
	}
	hash := hashSecret(refreshToken)
	rt, sess, err := s.store.RefreshToken(ctx, hash)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, errRefreshTokenInvalid()
	case err != nil:
		return nil, storeError(err, "reading refresh token")
	}
	now := s.now()
	if err := s.checkRefreshToken(ctx, rt, sess, now); err != nil {
		return nil, err
	}
	u, err := s.User(ctx, sess.UserID)
	if err != nil {
		return nil, err
	}
	pair, next, err := s.newTokenPair(ctx, u, sess.ID, now)
	if err != nil {
		return nil, err
	}
	err = s.store.RotateRefreshToken(ctx, hash, now, next, sessionEvent(TopicSessionRefreshed, sess, now, ""))
	switch {
	case errors.Is(err, ErrConflict):
		// Spent or revoked since we read it: look again to say which.
		rt, sess, err = s.store.RefreshToken(ctx, hash)
		switch {
		case errors.Is(err, ErrNotFound): // purged meanwhile
			return nil, errRefreshTokenInvalid()
		case err != nil:
			return nil, storeError(err, "reading refresh token")
		}
		if err := s.checkRefreshToken(ctx, rt, sess, now); err != nil {
			return nil, err
		}
		// Spent and revoked are final, so the second read must show one.
		return nil, errs.New(errs.Internal, "", "refresh token rotation conflicted with no cause")
	case errors.Is(err, ErrNotFound): // purged since we read it
		return nil, errRefreshTokenInvalid()
	case err != nil:
		return nil, storeError(err, "rotating refresh token")
	}
	return pair, nil
}

// checkRefreshToken returns nil if rt may be spent now; otherwise the
// error to answer, after revoking the session if rt was spent already.
func (s *Service) checkRefreshToken(ctx context.Context, rt *RefreshToken, sess *Session, now time.Time) error {
	switch {
	case sess.Revoked():
		return errs.New(errs.Unauthenticated, ReasonSessionRevoked, "the session has ended; sign in again")
	case !now.Before(rt.ExpireTime):
		return errs.New(errs.Unauthenticated, ReasonRefreshTokenExpired, "the refresh token has expired; sign in again")
	case !rt.UseTime.IsZero():
		// Two parties hold this token: end the session for both.
		_, err := s.store.RevokeSession(ctx, sess.ID, now, RevokedByReuse,
			sessionEvent(TopicSessionRevoked, sess, now, RevokedByReuse))
		if err != nil {
			return storeError(err, "revoking a session after refresh token reuse")
		}
		return errs.New(errs.Unauthenticated, ReasonRefreshTokenReused,
			"the refresh token was already used; the session has been ended, sign in again")
	}
	return nil
}

// Logout ends the session a refresh token belongs to, whichever of its
// tokens is presented. Like OAuth2 token revocation (RFC 7009) it succeeds
// for a token that is unknown or already dead: there is nothing to end, and
// the answer tells nobody anything.
func (s *Service) Logout(ctx context.Context, refreshToken string) error {
	if !wellFormedSecret(refreshToken, secretPrefixRefreshToken) {
		return nil
	}
	_, sess, err := s.store.RefreshToken(ctx, hashSecret(refreshToken))
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return storeError(err, "reading refresh token")
	}
	if sess.Revoked() {
		return nil
	}
	now := s.now()
	_, err = s.store.RevokeSession(ctx, sess.ID, now, RevokedByLogout, sessionEvent(TopicSessionRevoked, sess, now, RevokedByLogout))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return storeError(err, "revoking session")
	}
	return nil
}
