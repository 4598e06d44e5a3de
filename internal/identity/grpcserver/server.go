// Package grpcserver is the gRPC transport of the identity service: it
// implements bazaar.identity.v1.IdentityService by translating between the
// protos and internal/identity, and holds no business rule.
//
// It relies on the server chain of internal/platform/grpcx: the method
// policies of the contract are enforced before a handler runs (which puts
// the caller's auth.Principal in the context), requests are validated with
// their protovalidate rules, and domain errors are mapped to statuses with
// their details. A handler therefore returns domain errors as they are.
package grpcserver

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"google.golang.org/grpc"

	identityv1 "github.com/bazaarhq/bazaar/gen/bazaar/identity/v1"
	"github.com/bazaarhq/bazaar/internal/identity"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// Server implements identityv1.IdentityServiceServer.
type Server struct {
	identityv1.UnimplementedIdentityServiceServer
	svc *identity.Service
}

var _ identityv1.IdentityServiceServer = (*Server)(nil)

// New returns the transport for svc.
func New(svc *identity.Service) *Server { return &Server{svc: svc} }

// Register registers the identity API for svc on r (a *grpcx.Server).
func Register(r grpc.ServiceRegistrar, svc *identity.Service) {
	identityv1.RegisterIdentityServiceServer(r, New(svc))
}

// ReasonUpdateMaskInvalid (INVALID_ARGUMENT, field "update_mask"): the mask
// names a field UpdateMe cannot change.
const ReasonUpdateMaskInvalid = "UPDATE_MASK_INVALID"

// ReasonUnsupportedGrantType (INVALID_ARGUMENT, field "grant_type"): OAuth2
// unsupported_grant_type.
const ReasonUnsupportedGrantType = "UNSUPPORTED_GRANT_TYPE"

// grantClientCredentials is the only grant Token serves.
const grantClientCredentials = "client_credentials"

// Register implements identityv1.IdentityServiceServer.
func (s *Server) Register(ctx context.Context, req *identityv1.RegisterRequest) (*identityv1.RegisterResponse, error) {
	u, err := s.svc.Register(ctx, identity.Registration{
		Email: req.GetEmail(), Password: req.GetPassword(), DisplayName: req.GetDisplayName(),
	})
	if err != nil {
		return nil, err
	}
	return &identityv1.RegisterResponse{User: userProto(u)}, nil
}

// Login implements identityv1.IdentityServiceServer.
func (s *Server) Login(ctx context.Context, req *identityv1.LoginRequest) (*identityv1.LoginResponse, error) {
	u, pair, err := s.svc.Login(ctx, req.GetEmail(), req.GetPassword())
	if err != nil {
		return nil, err
	}
	return &identityv1.LoginResponse{Tokens: tokenPairProto(pair), User: userProto(u)}, nil
}

// Refresh implements identityv1.IdentityServiceServer.
func (s *Server) Refresh(ctx context.Context, req *identityv1.RefreshRequest) (*identityv1.RefreshResponse, error) {
	pair, err := s.svc.Refresh(ctx, req.GetRefreshToken())
	if err != nil {
		return nil, err
	}
	return &identityv1.RefreshResponse{Tokens: tokenPairProto(pair)}, nil
}

// Logout implements identityv1.IdentityServiceServer.
func (s *Server) Logout(ctx context.Context, req *identityv1.LogoutRequest) (*identityv1.LogoutResponse, error) {
	if err := s.svc.Logout(ctx, req.GetRefreshToken()); err != nil {
		return nil, err
	}
	return &identityv1.LogoutResponse{}, nil
}

// GetMe implements identityv1.IdentityServiceServer.
func (s *Server) GetMe(ctx context.Context, _ *identityv1.GetMeRequest) (*identityv1.GetMeResponse, error) {
	u, err := s.svc.Me(ctx, auth.PrincipalFrom(ctx))
	if err != nil {
		return nil, err
	}
	return &identityv1.GetMeResponse{User: userProto(u)}, nil
}

// UpdateMe implements identityv1.IdentityServiceServer. The mask paths are
// "display_name" (from user.display_name) and "password" (from
// new_password, with current_password).
func (s *Server) UpdateMe(ctx context.Context, req *identityv1.UpdateMeRequest) (*identityv1.UpdateMeResponse, error) {
	var upd identity.UserUpdate
	for _, path := range req.GetUpdateMask().GetPaths() {
		switch path {
		case "display_name":
			name := req.GetUser().GetDisplayName()
			upd.DisplayName = &name
		case "password":
			pw := req.GetNewPassword()
			upd.NewPassword = &pw
			upd.CurrentPassword = req.GetCurrentPassword()
		default:
			return nil, errs.BadRequest(ReasonUpdateMaskInvalid, errs.FieldViolation{
				Field:       "update_mask",
				Description: "cannot update " + path + "; updatable fields are display_name and password",
			})
		}
	}
	// An empty mask reaches the service as an empty update, which it
	// refuses (NOTHING_TO_UPDATE): there is no "update everything" here.
	u, err := s.svc.UpdateMe(ctx, auth.PrincipalFrom(ctx), upd)
	if err != nil {
		return nil, err
	}
	return &identityv1.UpdateMeResponse{User: userProto(u)}, nil
}

// ListUsers implements identityv1.IdentityServiceServer.
func (s *Server) ListUsers(ctx context.Context, req *identityv1.ListUsersRequest) (*identityv1.ListUsersResponse, error) {
	page, err := s.svc.ListUsers(ctx, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &identityv1.ListUsersResponse{Users: make([]*identityv1.User, 0, len(page.Users)), NextPageToken: page.NextPageToken}
	for _, u := range page.Users {
		resp.Users = append(resp.Users, userProto(u))
	}
	return resp, nil
}

// SetUserRoles implements identityv1.IdentityServiceServer.
func (s *Server) SetUserRoles(ctx context.Context, req *identityv1.SetUserRolesRequest) (*identityv1.SetUserRolesResponse, error) {
	u, err := s.svc.SetUserRoles(ctx, req.GetUserId(), req.GetRoles())
	if err != nil {
		return nil, err
	}
	return &identityv1.SetUserRolesResponse{User: userProto(u)}, nil
}

// GetJwks implements identityv1.IdentityServiceServer.
func (s *Server) GetJwks(ctx context.Context, _ *identityv1.GetJwksRequest) (*identityv1.GetJwksResponse, error) {
	keys, err := s.svc.PublicKeys(ctx)
	if err != nil {
		return nil, err
	}
	resp := &identityv1.GetJwksResponse{
		Keys:         make([]*identityv1.Jwk, 0, len(keys)),
		CacheSeconds: int32(s.svc.JWKSCacheTTL() / time.Second),
	}
	for _, k := range keys {
		resp.Keys = append(resp.Keys, jwkProto(k))
	}
	return resp, nil
}

// CreateApiKey implements identityv1.IdentityServiceServer.
func (s *Server) CreateApiKey(ctx context.Context, req *identityv1.CreateApiKeyRequest) (*identityv1.CreateApiKeyResponse, error) { //nolint:revive // the method name is fixed by the generated interface
	nk := identity.NewAPIKey{Name: req.GetName(), Scopes: req.GetScopes()}
	if req.GetExpireTime() != nil {
		nk.ExpireTime = req.GetExpireTime().AsTime()
	}
	k, secret, err := s.svc.CreateAPIKey(ctx, auth.PrincipalFrom(ctx), nk)
	if err != nil {
		return nil, err
	}
	return &identityv1.CreateApiKeyResponse{ApiKey: apiKeyProto(k), Secret: secret}, nil
}

// ListApiKeys implements identityv1.IdentityServiceServer.
func (s *Server) ListApiKeys(ctx context.Context, _ *identityv1.ListApiKeysRequest) (*identityv1.ListApiKeysResponse, error) { //nolint:revive // the method name is fixed by the generated interface
	keys, err := s.svc.APIKeys(ctx, auth.PrincipalFrom(ctx))
	if err != nil {
		return nil, err
	}
	resp := &identityv1.ListApiKeysResponse{ApiKeys: make([]*identityv1.ApiKey, 0, len(keys))}
	for _, k := range keys {
		resp.ApiKeys = append(resp.ApiKeys, apiKeyProto(k))
	}
	return resp, nil
}

// RevokeApiKey implements identityv1.IdentityServiceServer.
func (s *Server) RevokeApiKey(ctx context.Context, req *identityv1.RevokeApiKeyRequest) (*identityv1.RevokeApiKeyResponse, error) { //nolint:revive // the method name is fixed by the generated interface
	k, err := s.svc.RevokeAPIKey(ctx, auth.PrincipalFrom(ctx), req.GetApiKeyId())
	if err != nil {
		return nil, err
	}
	return &identityv1.RevokeApiKeyResponse{ApiKey: apiKeyProto(k)}, nil
}

// VerifyApiKey implements identityv1.IdentityServiceServer.
func (s *Server) VerifyApiKey(ctx context.Context, req *identityv1.VerifyApiKeyRequest) (*identityv1.VerifyApiKeyResponse, error) { //nolint:revive // the method name is fixed by the generated interface
	p, err := s.svc.VerifyAPIKey(ctx, req.GetSecret())
	if err != nil {
		return nil, err
	}
	resp := &identityv1.VerifyApiKeyResponse{UserId: p.Subject, ApiKeyId: p.APIKeyID, Scopes: p.Scopes}
	if !p.Expiry.IsZero() {
		resp.ExpireTime = timestamppb.New(p.Expiry)
	}
	return resp, nil
}

// CreateClient implements identityv1.IdentityServiceServer.
func (s *Server) CreateClient(ctx context.Context, req *identityv1.CreateClientRequest) (*identityv1.CreateClientResponse, error) {
	c, secret, err := s.svc.CreateClient(ctx, req.GetName(), req.GetScopes())
	if err != nil {
		return nil, err
	}
	return &identityv1.CreateClientResponse{Client: clientProto(c), ClientSecret: secret}, nil
}

// Token implements identityv1.IdentityServiceServer.
func (s *Server) Token(ctx context.Context, req *identityv1.TokenRequest) (*identityv1.TokenResponse, error) {
	if req.GetGrantType() != grantClientCredentials { // validation says so too; the answer is OAuth2's
		return nil, errs.BadRequest(ReasonUnsupportedGrantType, errs.FieldViolation{
			Field: "grant_type", Description: "only client_credentials is supported",
		})
	}
	tok, err := s.svc.ClientToken(ctx, req.GetClientId(), req.GetClientSecret(), req.GetScope())
	if err != nil {
		return nil, err
	}
	return &identityv1.TokenResponse{
		AccessToken: tok.AccessToken,
		TokenType:   "Bearer",
		ExpiresIn:   int64(tok.ExpiresIn / time.Second),
		Scope:       joinScopes(tok.Scopes),
	}, nil
}
