package identity

import (
	"context"

	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// adminDisplayName is the display name of the bootstrap administrator.
const adminDisplayName = "Administrator"

// EnsureAdmin makes sure some account holds the admin role, so that a new
// installation can be administered: if none does, it creates one with
// email and password. An empty password is generated; it is returned, to
// be shown once, and never stored in clear. When an administrator exists
// it does nothing and returns created false, whatever the arguments.
//
// Errors: INVALID_ARGUMENT for a bad email or a weak password;
// FAILED_PRECONDITION ADMIN_EMAIL_TAKEN when there is no administrator but
// email belongs to another account (promoting it would hand the shop to
// whoever registered that address first). Safe to run from several
// processes at once: one creates the account, the others see it.
func (s *Service) EnsureAdmin(ctx context.Context, email, password string) (created bool, generatedPassword string, err error) {
	has, err := s.store.HasUserWithRole(ctx, RoleAdmin)
	switch {
	case err != nil:
		return false, "", storeError(err, "looking for an administrator")
	case has:
		return false, "", nil
	}
	if password == "" {
		if password, err = s.generatePassword(); err != nil {
			return false, "", err
		}
		generatedPassword = password
	}
	_, err = s.createUser(ctx, Registration{Email: email, Password: password, DisplayName: adminDisplayName}, []string{RoleAdmin})
	switch {
	case err == nil:
		return true, generatedPassword, nil
	case errs.KindOfError(err) != errs.AlreadyExists:
		return false, "", err
	}
	// The email is taken: by a concurrent EnsureAdmin, or by a customer.
	has, err = s.store.HasUserWithRole(ctx, RoleAdmin)
	switch {
	case err != nil:
		return false, "", storeError(err, "looking for an administrator")
	case has:
		return false, "", nil
	}
	return false, "", errs.New(errs.FailedPrecondition, ReasonAdminEmailTaken,
		"no account has the admin role, and the administrator email belongs to another account; choose another email or set the role with SetUserRoles")
}

// generatePassword returns "bzp_" and 256 random bits, base64url: 47
// characters whose prefix alone mixes two character classes, so it always
// passes CheckPassword.
func (s *Service) generatePassword() (string, error) {
	return s.newSecretValue(secretPrefixPassword)
}
