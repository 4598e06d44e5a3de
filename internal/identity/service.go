package identity

import (
	"errors"
	"fmt"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// Service is the identity use cases. It is safe for concurrent use. Create
// it with New.
//
// Authorisation of a call is the method policy's job (declared in the API
// contract and enforced before the transport calls the Service); methods
// that act on "the caller's own" things take the caller's *auth.Principal
// and enforce the ownership rules themselves.
type Service struct {
	store Store
	cfg   Config
	// dummyHash is verified when a login names no account, so that an
	// unknown email costs the same time as a wrong password.
	dummyHash PasswordHash
	// dummySecretHash plays the same part for an unknown client id.
	dummySecretHash []byte
	keys            keyCache
}

// New returns a Service over store. Zero fields of cfg take their defaults
// (see Config). It returns an error for an invalid configuration.
func New(store Store, cfg Config) (*Service, error) {
	if store == nil {
		return nil, errors.New("identity: nil store")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Service{store: store, cfg: cfg}
	dummy, err := s.newSecretValue(secretPrefixPassword)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	if s.dummyHash, err = HashPassword(dummy, cfg.Argon2, cfg.Random); err != nil {
		return nil, fmt.Errorf("identity: dummy password hash: %w", err)
	}
	s.dummySecretHash = hashSecret(dummy)
	return s, nil
}

// now is the service clock in UTC at the microsecond precision both
// databases keep, so that times read back compare equal to times written.
func (s *Service) now() time.Time {
	return s.cfg.Clock().UTC().Truncate(time.Microsecond)
}

// callerUserID returns the user a principal acts for: the subject of a
// user's access token or of an API key. Clients and services are no user.
func callerUserID(p *auth.Principal) (string, error) {
	switch {
	case p == nil:
		return "", errs.New(errs.Unauthenticated, ReasonCredentialsRequired, "this method needs a signed-in user")
	case p.Kind == auth.User || p.Kind == auth.APIKey:
		if p.Subject == "" {
			return "", errs.New(errs.Unauthenticated, ReasonCredentialsRequired, "the credential names no user")
		}
		return p.Subject, nil
	default:
		return "", errs.New(errs.PermissionDenied, ReasonUserRequired,
			"this method acts on the caller's account; a "+p.Kind.String()+" has none")
	}
}
