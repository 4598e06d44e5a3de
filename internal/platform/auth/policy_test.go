package auth_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	_ "google.golang.org/grpc/health/grpc_health_v1"
	_ "google.golang.org/grpc/interop/grpc_testing"

	_ "github.com/bazaarhq/bazaar/gen/bazaar/examples/calculator/v1" // registers its descriptors
	_ "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

func TestLoadPolicies(t *testing.T) {
	t.Parallel()
	p, err := auth.LoadPolicies([]string{"bazaar.examples.calculator.v1.CalculatorService", "grpc.health.v1.Health"})
	if err != nil {
		t.Fatalf("LoadPolicies() = %v", err)
	}
	for _, m := range []string{"/bazaar.examples.calculator.v1.CalculatorService/Divide", "/bazaar.examples.calculator.v1.CalculatorService/RunningMax", "/grpc.health.v1.Health/Watch"} {
		if !p[m].GetPublic() {
			t.Errorf("policy of %s = %v, want public", m, p[m])
		}
	}
}

func TestLoadPoliciesRefusesUnpolicedMethods(t *testing.T) {
	t.Parallel()
	_, err := auth.LoadPolicies([]string{"grpc.testing.TestService", "no.such.Service"})
	if err == nil {
		t.Fatal("LoadPolicies(grpc.testing.TestService) = nil, want an error")
	}
	for _, want := range []string{"/grpc.testing.TestService/EmptyCall", "/grpc.testing.TestService/FullDuplexCall", "no.such.Service: no descriptor"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		p    *auth.Policy
		ok   bool
	}{
		{"public", &auth.Policy{Public: true}, true},
		{"authenticated", &auth.Policy{Authenticated: true}, true},
		{"roles", &auth.Policy{Roles: []string{"admin"}}, true},
		{"roles and services", &auth.Policy{Roles: []string{"admin"}, Services: []string{"order"}}, true},
		{"nil", nil, false},
		{"empty", &auth.Policy{}, false},
		{"public and roles", &auth.Policy{Public: true, Roles: []string{"admin"}}, false},
		{"blank role", &auth.Policy{Roles: []string{" "}}, false},
		{"blank service", &auth.Policy{Services: []string{""}}, false},
	} {
		if err := auth.Validate(tc.p); (err == nil) != tc.ok {
			t.Errorf("Validate(%s) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestPublicOnly(t *testing.T) {
	t.Parallel()
	var a auth.PublicOnly
	if _, err := a.Authorize(t.Context(), "/x/Y", &auth.Policy{Public: true}); err != nil {
		t.Errorf("Authorize(public) = %v, want nil", err)
	}
	_, err := a.Authorize(t.Context(), "/x/Y", &auth.Policy{Authenticated: true})
	if d := errs.FromError(errs.ToStatus(err).Err()); d.Code != codes.Unauthenticated {
		t.Errorf("Authorize(authenticated) = %v, want Unauthenticated", err)
	}
}
