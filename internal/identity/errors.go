package identity

import (
	"context"
	"errors"
	"fmt"

	"github.com/bazaarhq/bazaar/internal/platform/pagetoken"

	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// The ErrorInfo reasons of the errors the Service returns. They are part of
// the API: clients switch on them.
const (
	// ReasonEmailInvalid (INVALID_ARGUMENT, field "email").
	ReasonEmailInvalid = "EMAIL_INVALID"
	// ReasonWeakPassword (INVALID_ARGUMENT, field "password" or
	// "new_password"): the password breaks the policy of CheckPassword.
	ReasonWeakPassword = "WEAK_PASSWORD"
	// ReasonDisplayNameInvalid (INVALID_ARGUMENT, field "display_name").
	ReasonDisplayNameInvalid = "DISPLAY_NAME_INVALID"
	// ReasonRolesInvalid (INVALID_ARGUMENT, field "roles").
	ReasonRolesInvalid = "ROLES_INVALID"
	// ReasonScopesInvalid (INVALID_ARGUMENT, field "scopes").
	ReasonScopesInvalid = "SCOPES_INVALID"
	// ReasonInvalidScope (INVALID_ARGUMENT, field "scope"): a token request
	// asked for a scope the client does not hold (OAuth2 invalid_scope).
	ReasonInvalidScope = "INVALID_SCOPE"
	// ReasonNameInvalid (INVALID_ARGUMENT, field "name").
	ReasonNameInvalid = "NAME_INVALID"
	// ReasonExpireTimeInvalid (INVALID_ARGUMENT, field "expire_time"): not
	// in the future.
	ReasonExpireTimeInvalid = "EXPIRE_TIME_INVALID"
	// ReasonPageSizeInvalid (INVALID_ARGUMENT, field "page_size").
	ReasonPageSizeInvalid = "PAGE_SIZE_INVALID"
	// ReasonPageTokenInvalid (INVALID_ARGUMENT, field "page_token"): not a
	// token this service issued.
	ReasonPageTokenInvalid = pagetoken.Reason
	// ReasonNothingToUpdate (INVALID_ARGUMENT, field "update_mask").
	ReasonNothingToUpdate = "NOTHING_TO_UPDATE"
	// ReasonCurrentPasswordRequired (INVALID_ARGUMENT, field
	// "current_password"): a password change without the current password.
	ReasonCurrentPasswordRequired = "CURRENT_PASSWORD_REQUIRED"

	// ReasonEmailTaken (ALREADY_EXISTS): an account has this email.
	ReasonEmailTaken = "EMAIL_TAKEN"

	// ReasonInvalidCredentials (UNAUTHENTICATED): a wrong email or password,
	// indistinguishably.
	ReasonInvalidCredentials = "INVALID_CREDENTIALS"
	// ReasonRefreshTokenInvalid (UNAUTHENTICATED): not a refresh token this
	// service knows.
	ReasonRefreshTokenInvalid = "REFRESH_TOKEN_INVALID"
	// ReasonRefreshTokenExpired (UNAUTHENTICATED).
	ReasonRefreshTokenExpired = "REFRESH_TOKEN_EXPIRED"
	// ReasonRefreshTokenReused (UNAUTHENTICATED): the refresh token was
	// already spent; its session is now revoked.
	ReasonRefreshTokenReused = "REFRESH_TOKEN_REUSED"
	// ReasonSessionRevoked (UNAUTHENTICATED): the refresh token's session
	// was ended (logout, reuse, password change).
	ReasonSessionRevoked = "SESSION_REVOKED"
	// ReasonAPIKeyInvalid (UNAUTHENTICATED): an unknown, expired or revoked
	// API key (the same reason as the platform authenticator's).
	ReasonAPIKeyInvalid = "API_KEY_INVALID"
	// ReasonInvalidClient (UNAUTHENTICATED): an unknown client or a wrong
	// secret (OAuth2 invalid_client), indistinguishably.
	ReasonInvalidClient = "INVALID_CLIENT"
	// ReasonCredentialsRequired (UNAUTHENTICATED): no caller.
	ReasonCredentialsRequired = "CREDENTIALS_REQUIRED"

	// ReasonUserRequired (PERMISSION_DENIED): a method about "me" called by
	// a client or a service, which is no user.
	ReasonUserRequired = "USER_REQUIRED"
	// ReasonSignInRequired (PERMISSION_DENIED): an API key tried to create
	// an API key; only a signed-in user may.
	ReasonSignInRequired = "SIGN_IN_REQUIRED"
	// ReasonScopeNotGrantable (PERMISSION_DENIED): the user may not put
	// this scope on an API key.
	ReasonScopeNotGrantable = "SCOPE_NOT_GRANTABLE"
	// ReasonWrongPassword (PERMISSION_DENIED): current_password is wrong.
	ReasonWrongPassword = "WRONG_PASSWORD"

	// ReasonUserNotFound (NOT_FOUND).
	ReasonUserNotFound = "USER_NOT_FOUND"
	// ReasonAPIKeyNotFound (NOT_FOUND): no such key among the caller's.
	ReasonAPIKeyNotFound = "API_KEY_NOT_FOUND"

	// ReasonAdminEmailTaken (FAILED_PRECONDITION): EnsureAdmin found no
	// administrator, but the email it should use belongs to another
	// account (which it will not promote).
	ReasonAdminEmailTaken = "ADMIN_EMAIL_TAKEN"
	// ReasonLastAdmin (FAILED_PRECONDITION, with a PreconditionFailure of
	// type "ROLE", subject "admin"): SetUserRoles would leave no user with
	// the admin role, and no one could administer the service any more.
	ReasonLastAdmin = "LAST_ADMIN"
)

func invalidField(reason, field, description string) *errs.Error {
	return errs.BadRequest(reason, errs.FieldViolation{Field: field, Description: description})
}

func errInvalidCredentials() *errs.Error {
	return errs.New(errs.Unauthenticated, ReasonInvalidCredentials, "wrong email or password")
}

func errUserNotFound(id string) *errs.Error {
	return errs.New(errs.NotFound, ReasonUserNotFound, "user not found", errs.WithResource("user", id, ""))
}

// storeError wraps an unexpected store failure as an internal error that
// says what was being done; the cause stays for the log. A cancelled or
// expired context stays what it is (CANCELED, DEADLINE_EXCEEDED).
func storeError(err error, doing string, args ...any) error {
	msg := fmt.Sprintf(doing, args...)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", msg, err)
	}
	return errs.Wrap(err, errs.Internal, "", msg)
}
