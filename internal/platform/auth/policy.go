package auth

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	optionsv1 "github.com/bazaarhq/bazaar/gen/bazaar/options/v1"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// Policy is the access policy of one RPC, as declared in its proto contract.
type Policy = optionsv1.MethodPolicy

// Authorizer admits or refuses a call to method (a full method name,
// "/pkg.Service/Method") under policy. It returns the context the handler
// runs with (carrying the caller's principal, if any) or an error that is
// UNAUTHENTICATED (no valid credentials) or PERMISSION_DENIED (valid
// credentials, not allowed).
type Authorizer interface {
	Authorize(ctx context.Context, method string, policy *Policy) (context.Context, error)
}

// PublicOnly is the Authorizer of a server that accepts no credentials: it
// admits public methods and answers every other one UNAUTHENTICATED.
type PublicOnly struct{}

// Authorize implements Authorizer.
func (PublicOnly) Authorize(ctx context.Context, method string, p *Policy) (context.Context, error) {
	if p.GetPublic() {
		return ctx, nil
	}
	return ctx, errs.New(errs.Unauthenticated, "CREDENTIALS_REQUIRED",
		"this method requires credentials and this server accepts none", errs.WithMetadata("method", method))
}

// Policies maps full method names to their policies.
type Policies map[string]*Policy

// InfrastructurePolicies are the policies of the services a Bazaar server
// registers itself and whose protos carry no Bazaar option: health checks
// and reflection are public (load balancers and grpcurl need them); channelz
// exposes internals, so it needs the admin role.
var InfrastructurePolicies = map[string]*Policy{
	"grpc.health.v1.Health":                    {Public: true},
	"grpc.reflection.v1.ServerReflection":      {Public: true},
	"grpc.reflection.v1alpha.ServerReflection": {Public: true},
	"grpc.channelz.v1.Channelz":                {Roles: []string{"admin"}},
}

// LoadPolicies reads the policy of every method of the named services from
// the global proto registry (where generated code registers its files).
// Services named in InfrastructurePolicies take that policy for all their
// methods. It fails, naming every offender, when a method has no policy or
// an invalid one: a server must refuse to start rather than serve a method
// nobody decided who may call.
func LoadPolicies(serviceNames []string) (Policies, error) {
	out := make(Policies)
	var problems []string
	for _, name := range serviceNames {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: no descriptor registered", name))
			continue
		}
		sd, ok := d.(protoreflect.ServiceDescriptor)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: not a service", name))
			continue
		}
		infra, isInfra := InfrastructurePolicies[name]
		methods := sd.Methods()
		for i := range methods.Len() {
			md := methods.Get(i)
			full := "/" + name + "/" + string(md.Name())
			if isInfra {
				out[full] = infra
				continue
			}
			p, err := MethodPolicy(md)
			if err != nil {
				problems = append(problems, full+": "+err.Error())
				continue
			}
			out[full] = p
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("auth: methods without a valid access policy:\n  %s", strings.Join(problems, "\n  "))
	}
	return out, nil
}

// ErrNoPolicy is returned by MethodPolicy for a method with no policy option.
var ErrNoPolicy = errors.New("no (bazaar.options.v1.policy) option")

// MethodPolicy returns the declared policy of md, checked by Validate.
func MethodPolicy(md protoreflect.MethodDescriptor) (*Policy, error) {
	opts := md.Options()
	if opts == nil || !proto.HasExtension(opts, optionsv1.E_Policy) {
		return nil, ErrNoPolicy
	}
	p, _ := proto.GetExtension(opts, optionsv1.E_Policy).(*Policy)
	if err := Validate(p); err != nil {
		return nil, err
	}
	return p, nil
}

// Validate checks that p has one valid shape: public alone, or at least one
// of authenticated, roles and services, with no empty names.
func Validate(p *Policy) error {
	restricted := p.GetAuthenticated() || len(p.GetRoles()) > 0 || len(p.GetServices()) > 0 || len(p.GetScopes()) > 0
	switch {
	case p == nil:
		return ErrNoPolicy
	case p.GetPublic() && restricted:
		return errors.New("policy is public and restricted at once")
	case !p.GetPublic() && !restricted:
		return errors.New("policy admits nobody (set public, authenticated, roles, scopes or services)")
	}
	for _, r := range p.GetRoles() {
		if strings.TrimSpace(r) == "" {
			return errors.New("policy has an empty role")
		}
	}
	for _, s := range p.GetServices() {
		if strings.TrimSpace(s) == "" {
			return errors.New("policy has an empty service identity")
		}
	}
	for _, s := range p.GetScopes() {
		if strings.TrimSpace(s) == "" {
			return errors.New("policy has an empty scope")
		}
	}
	return nil
}
