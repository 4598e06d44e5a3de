package catalog

import (
	"slices"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
)

// The role and scope that let a caller see draft products: those of the
// catalog's write methods (see the API contract's policies).
const (
	RoleAdmin         = "admin"
	ScopeCatalogWrite = "catalog:write"
)

// ReasonDraftsHidden (PERMISSION_DENIED): a list of draft products asked
// for by a caller who may not see them.
const ReasonDraftsHidden = "DRAFTS_HIDDEN"

// seesDrafts reports whether caller may see draft products, which are
// invisible to customers: an administrator, a credential with the
// catalog:write scope, or another Bazaar service. A nil caller is an
// anonymous customer.
func seesDrafts(caller *auth.Principal) bool {
	switch {
	case caller == nil:
		return false
	case caller.Kind == auth.Service:
		return true
	case caller.Kind == auth.User && slices.Contains(caller.Roles, RoleAdmin):
		return true
	}
	return slices.Contains(caller.Scopes, ScopeCatalogWrite)
}

// visibleTo reports whether caller may see p.
func visibleTo(caller *auth.Principal, p *Product) bool {
	return p.Status != StatusDraft || seesDrafts(caller)
}
