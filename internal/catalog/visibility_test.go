package catalog_test

import (
	"slices"
	"testing"

	"github.com/bazaarhq/bazaar/internal/catalog"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

func TestDraftsAreInvisibleToCustomers(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t)
	ctx := t.Context()
	p := validProduct()
	p.Status = catalog.StatusDraft
	draft, err := svc.CreateProduct(ctx, p, "req-draft")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		caller *auth.Principal
		sees   bool
	}{
		{"anonymous", nil, false},
		{"customer", &auth.Principal{Kind: auth.User, Subject: "u1", Roles: []string{"customer"}}, false},
		{"customer's API key", &auth.Principal{Kind: auth.APIKey, Subject: "u1", Scopes: []string{"orders:read"}}, false},
		{"admin", &auth.Principal{Kind: auth.User, Subject: "u2", Roles: []string{"admin"}}, true},
		{"catalog:write client", &auth.Principal{Kind: auth.Client, Subject: "c1", Scopes: []string{"catalog:write"}}, true},
		{"order service", &auth.Principal{Kind: auth.Service, Subject: "order"}, true},
	} {
		_, err := svc.GetProduct(ctx, tc.caller, draft.ID)
		if tc.sees && err != nil {
			t.Errorf("GetProduct(draft) as %s = %v, want the product", tc.name, err)
		}
		if !tc.sees {
			wantErr(t, "GetProduct(draft) as "+tc.name, err, errs.NotFound, catalog.ReasonProductNotFound)
		}
		found, missing, err := svc.BatchGetProducts(ctx, tc.caller, []string{draft.ID})
		if err != nil || (len(found) == 1) != tc.sees || slices.Equal(missing, []string{draft.ID}) == tc.sees {
			t.Errorf("BatchGetProducts(draft) as %s = %d found, missing %v, %v; want seen %v", tc.name, len(found), missing, err, tc.sees)
		}
		ps, _, err := svc.ListProducts(ctx, tc.caller, catalog.ListRequest{Status: catalog.StatusDraft})
		if tc.sees && (err != nil || len(ps) != 1) {
			t.Errorf("ListProducts(drafts) as %s = %d, %v; want the draft", tc.name, len(ps), err)
		}
		if !tc.sees {
			wantErr(t, "ListProducts(drafts) as "+tc.name, err, errs.PermissionDenied, catalog.ReasonDraftsHidden)
		}
	}
	// Images of a draft stay reachable by id for the image transport.
	if _, err := svc.Image(ctx, draft.ID, "none"); errs.KindOfError(err) != errs.NotFound {
		t.Errorf("Image(draft, none) = %v, want NOT_FOUND", err)
	}
}
