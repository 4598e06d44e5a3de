package identity

import (
	"context"
	"errors"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bazaarhq/bazaar/internal/platform/pagetoken"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// The roles the service itself assigns.
const (
	// RoleAdmin opens the administrators' methods.
	RoleAdmin = "admin"
	// RoleCustomer is the role of every registered account.
	RoleCustomer = "customer"
)

// User is an account.
type User struct {
	// ID is stable and is the access token's subject.
	ID string
	// Email is normalised: trimmed and lower-case. It is unique.
	Email string
	// DisplayName is how the shop addresses the user; may be empty.
	DisplayName string
	// PasswordHash is the argon2id hash of the password.
	PasswordHash PasswordHash
	// Roles are sorted and unique.
	Roles []string
	// CreateTime is when the account was registered.
	CreateTime time.Time
}

// HasRole reports whether u holds role.
func (u *User) HasRole(role string) bool { return hasRole(u.Roles, role) }

func hasRole(roles []string, role string) bool { return slices.Contains(roles, role) }

// Limits of user fields, as the API contract states them.
const (
	maxEmailLength       = 254
	maxDisplayNameLength = 100
	maxRoles             = 16
)

// NormalizeEmail trims email and lower-cases it, the form accounts are
// stored and looked up by. An email that is empty once trimmed is an
// INVALID_ARGUMENT EMAIL_INVALID error for field "email".
func NormalizeEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	if e == "" {
		return "", invalidField(ReasonEmailInvalid, "email", "must not be empty")
	}
	return e, nil
}

// normalizeNewEmail normalises an email for a new account and checks that
// it is one plain address (no display name, no spaces, at most 254
// characters).
func normalizeNewEmail(email string) (string, error) {
	e, err := NormalizeEmail(email)
	if err != nil {
		return "", err
	}
	if len(e) > maxEmailLength {
		return "", invalidField(ReasonEmailInvalid, "email", "must be at most 254 characters")
	}
	if a, perr := mail.ParseAddress(e); perr != nil || a.Address != e || !strings.Contains(e[strings.LastIndexByte(e, '@')+1:], ".") {
		return "", invalidField(ReasonEmailInvalid, "email", "must be an email address like name@example.com")
	}
	return e, nil
}

// cleanDisplayName trims a display name and checks it: at most 100
// characters, no control characters.
func cleanDisplayName(name string) (string, error) {
	n := strings.TrimSpace(name)
	if !utf8.ValidString(n) || utf8.RuneCountInString(n) > maxDisplayNameLength {
		return "", invalidField(ReasonDisplayNameInvalid, "display_name", "must be at most 100 characters of valid UTF-8")
	}
	if strings.ContainsFunc(n, unicode.IsControl) {
		return "", invalidField(ReasonDisplayNameInvalid, "display_name", "must not contain control characters")
	}
	return n, nil
}

var rolePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// cleanRoles checks roles against the contract's rules (lower-case names,
// at most 16, no duplicates) and returns them sorted.
func cleanRoles(roles []string) ([]string, error) {
	if len(roles) > maxRoles {
		return nil, invalidField(ReasonRolesInvalid, "roles", "at most 16 roles")
	}
	out := slices.Clone(roles)
	slices.Sort(out)
	for i, r := range out {
		if !rolePattern.MatchString(r) {
			return nil, invalidField(ReasonRolesInvalid, "roles", "role "+quote(r)+" must match "+rolePattern.String())
		}
		if i > 0 && out[i-1] == r {
			return nil, invalidField(ReasonRolesInvalid, "roles", "role "+quote(r)+" is listed twice")
		}
	}
	return nonNil(out), nil
}

// quote bounds and quotes a caller-supplied value for an error message.
func quote(s string) string {
	const limit = 40
	if utf8.RuneCountInString(s) > limit {
		s = string([]rune(s)[:limit]) + "…"
	}
	return `"` + s + `"`
}

// Registration is what Register needs to create an account.
type Registration struct {
	Email       string
	Password    string
	DisplayName string
}

// Register creates a customer account. Errors: INVALID_ARGUMENT
// (EMAIL_INVALID, WEAK_PASSWORD, DISPLAY_NAME_INVALID) with a field
// violation; ALREADY_EXISTS EMAIL_TAKEN when an account has the email in
// any letter case.
func (s *Service) Register(ctx context.Context, r Registration) (*User, error) {
	return s.createUser(ctx, r, []string{RoleCustomer})
}

func (s *Service) createUser(ctx context.Context, r Registration, roles []string) (*User, error) {
	email, err := normalizeNewEmail(r.Email)
	if err != nil {
		return nil, err
	}
	name, err := cleanDisplayName(r.DisplayName)
	if err != nil {
		return nil, err
	}
	if err := CheckPassword("password", r.Password); err != nil {
		return nil, err
	}
	hash, err := HashPassword(r.Password, s.cfg.Argon2, s.cfg.Random)
	if err != nil {
		return nil, err
	}
	id, err := s.newID()
	if err != nil {
		return nil, err
	}
	u := &User{ID: id, Email: email, DisplayName: name, PasswordHash: hash, Roles: roles, CreateTime: s.now()}
	switch err := s.store.CreateUser(ctx, u, userEvent(TopicUserRegistered, u)); {
	case errors.Is(err, ErrDuplicate):
		return nil, errs.New(errs.AlreadyExists, ReasonEmailTaken, "an account with this email already exists")
	case err != nil:
		return nil, storeError(err, "creating user")
	}
	return u, nil
}

// Me returns the caller's account. Errors: UNAUTHENTICATED without a
// caller; PERMISSION_DENIED USER_REQUIRED for a client or service caller;
// NOT_FOUND USER_NOT_FOUND if the account is gone.
func (s *Service) Me(ctx context.Context, p *auth.Principal) (*User, error) {
	id, err := callerUserID(p)
	if err != nil {
		return nil, err
	}
	return s.User(ctx, id)
}

// User returns the account with id, or NOT_FOUND USER_NOT_FOUND.
func (s *Service) User(ctx context.Context, id string) (*User, error) {
	u, err := s.store.User(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, errUserNotFound(id)
	case err != nil:
		return nil, storeError(err, "reading user")
	}
	return u, nil
}

// UserUpdate names the fields UpdateMe changes; nil fields stay as they
// are.
type UserUpdate struct {
	// DisplayName is the new display name.
	DisplayName *string
	// NewPassword is the new password; CurrentPassword must accompany it.
	NewPassword *string
	// CurrentPassword proves the caller knows the password being replaced.
	CurrentPassword string
}

// UpdateMe changes the caller's display name and/or password. A password
// change revokes every session of the user (access tokens already issued
// live out their short lifetime). Errors: those of Me; INVALID_ARGUMENT
// NOTHING_TO_UPDATE, DISPLAY_NAME_INVALID, CURRENT_PASSWORD_REQUIRED,
// WEAK_PASSWORD (field "new_password"); PERMISSION_DENIED WRONG_PASSWORD;
// ABORTED if the password changed concurrently.
func (s *Service) UpdateMe(ctx context.Context, p *auth.Principal, upd UserUpdate) (*User, error) {
	id, err := callerUserID(p)
	if err != nil {
		return nil, err
	}
	if upd.DisplayName == nil && upd.NewPassword == nil {
		return nil, invalidField(ReasonNothingToUpdate, "update_mask", "names no field to change")
	}
	var name string
	if upd.DisplayName != nil {
		if name, err = cleanDisplayName(*upd.DisplayName); err != nil {
			return nil, err
		}
	}
	var oldHash, newHash PasswordHash
	if upd.NewPassword != nil {
		if oldHash, newHash, err = s.preparePasswordChange(ctx, id, upd); err != nil {
			return nil, err
		}
	}
	now := s.now()
	u, err := s.store.UpdateUser(ctx, id, func(u *User) (UserChange, error) {
		var ch UserChange
		if upd.DisplayName != nil && u.DisplayName != name {
			u.DisplayName = name
			ch.Events = append(ch.Events, userEvent(TopicUserUpdated, u))
		}
		if upd.NewPassword != nil {
			if u.PasswordHash != oldHash {
				return ch, errs.New(errs.Aborted, "", "the password changed during this call; retry")
			}
			u.PasswordHash = newHash
			ch.RevokeSessions = &Revocation{Time: now, Reason: RevokedByPasswordChange}
			ch.Events = append(ch.Events, userEvent(TopicUserPasswordChanged, u))
		}
		return ch, nil
	})
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, errUserNotFound(id)
	case errs.KindOfError(err) == errs.Aborted:
		return nil, err
	case err != nil:
		return nil, storeError(err, "updating user")
	}
	return u, nil
}

// preparePasswordChange checks the current password and hashes the new
// one, outside any transaction (argon2 is slow on purpose, and SQLite has
// one writer). It returns the hash the change replaces, to detect a
// concurrent change, and the new hash.
func (s *Service) preparePasswordChange(ctx context.Context, id string, upd UserUpdate) (oldHash, newHash PasswordHash, err error) {
	if upd.CurrentPassword == "" {
		return "", "", invalidField(ReasonCurrentPasswordRequired, "current_password", "is required to change the password")
	}
	if err := CheckPassword("new_password", *upd.NewPassword); err != nil {
		return "", "", err
	}
	u, err := s.User(ctx, id)
	if err != nil {
		return "", "", err
	}
	ok, _, err := VerifyPassword(u.PasswordHash, upd.CurrentPassword)
	if err != nil {
		return "", "", errs.Wrap(err, errs.Internal, "", "checking the current password")
	}
	if !ok {
		return "", "", errs.New(errs.PermissionDenied, ReasonWrongPassword, "current_password is wrong",
			errs.WithFieldViolation("current_password", "is wrong"))
	}
	newHash, err = HashPassword(*upd.NewPassword, s.cfg.Argon2, s.cfg.Random)
	if err != nil {
		return "", "", err
	}
	return u.PasswordHash, newHash, nil
}

// SetUserRoles replaces the roles of the user with id. The new roles reach
// the user's tokens at their next refresh. Errors: INVALID_ARGUMENT
// ROLES_INVALID; NOT_FOUND USER_NOT_FOUND; FAILED_PRECONDITION LAST_ADMIN
// when the change would leave no user with the admin role (even when
// several administrators are demoted at once, one keeps the role).
func (s *Service) SetUserRoles(ctx context.Context, id string, roles []string) (*User, error) {
	roles, err := cleanRoles(roles)
	if err != nil {
		return nil, err
	}
	u, err := s.store.UpdateUser(ctx, id, func(u *User) (UserChange, error) {
		if slices.Equal(u.Roles, roles) {
			return UserChange{}, nil
		}
		u.Roles = roles
		// Without an administrator no one could grant the role again, and
		// EnsureAdmin will not promote an existing account.
		return UserChange{Events: []Event{userEvent(TopicUserRolesChanged, u)}, KeepRole: RoleAdmin}, nil
	})
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, errUserNotFound(id)
	case errors.Is(err, ErrLastRoleHolder):
		return nil, errs.New(errs.FailedPrecondition, ReasonLastAdmin,
			"this would leave no user with the admin role; give the role to another user first",
			errs.WithPrecondition("ROLE", RoleAdmin, "at least one user must keep the admin role"))
	case err != nil:
		return nil, storeError(err, "updating roles")
	}
	return u, nil
}

// Paging limits of ListUsers (AIP-158).
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// UserPage is one page of ListUsers.
type UserPage struct {
	Users []*User
	// NextPageToken continues the listing; empty on the last page.
	NextPageToken string
}

// ListUsers returns one page of accounts, oldest first (AIP-158). A
// pageSize of 0 means DefaultPageSize. Errors: INVALID_ARGUMENT
// PAGE_SIZE_INVALID (negative or above MaxPageSize), PAGE_TOKEN_INVALID (a
// token this service did not issue, or one altered).
func (s *Service) ListUsers(ctx context.Context, pageSize int, pageToken string) (*UserPage, error) {
	switch {
	case pageSize < 0 || pageSize > MaxPageSize:
		return nil, invalidField(ReasonPageSizeInvalid, "page_size", "must be 0 to 500")
	case pageSize == 0:
		pageSize = DefaultPageSize
	}
	var after UserCursor
	if pageToken != "" {
		if err := userPageTokens.Decode(pageToken, "", &after); err != nil {
			return nil, err
		}
	}
	// One more than asked tells whether there is a next page.
	users, err := s.store.ListUsers(ctx, after, pageSize+1)
	if err != nil {
		return nil, storeError(err, "listing users")
	}
	page := &UserPage{Users: users}
	if len(users) > pageSize {
		page.Users = users[:pageSize]
		last := page.Users[pageSize-1]
		page.NextPageToken = userPageTokens.Encode("", UserCursor{CreateTime: last.CreateTime, ID: last.ID})
	}
	return page, nil
}

// userPageTokens makes ListUsers's page tokens (see internal/platform/pagetoken):
// the cursor is the last user's (CreateTime, ID); the listing has no filters.
var userPageTokens = pagetoken.New("bazaar.identity.v1.ListUsers")
