package grpcserver

import (
	"encoding/base64"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	identityv1 "github.com/bazaarhq/bazaar/gen/bazaar/identity/v1"
	"github.com/bazaarhq/bazaar/internal/identity"
)

func userProto(u *identity.User) *identityv1.User {
	return &identityv1.User{
		Id:          u.ID,
		Email:       u.Email,
		DisplayName: u.DisplayName,
		Roles:       u.Roles,
		CreateTime:  timestamppb.New(u.CreateTime),
	}
}

func tokenPairProto(p *identity.TokenPair) *identityv1.TokenPair {
	return &identityv1.TokenPair{
		AccessToken:            p.AccessToken,
		AccessTokenExpireTime:  timestamppb.New(p.AccessTokenExpireTime),
		RefreshToken:           p.RefreshToken,
		RefreshTokenExpireTime: timestamppb.New(p.RefreshTokenExpireTime),
	}
}

// jwkProto is an Ed25519 public key as an RFC 8037 OKP JWK.
func jwkProto(k identity.PublicKey) *identityv1.Jwk {
	return &identityv1.Jwk{
		Kid: k.ID,
		Kty: "OKP",
		Crv: "Ed25519",
		X:   base64.RawURLEncoding.EncodeToString(k.Key),
		Alg: "EdDSA",
		Use: "sig",
	}
}

func apiKeyProto(k *identity.APIKey) *identityv1.ApiKey {
	return &identityv1.ApiKey{
		Id:         k.ID,
		Name:       k.Name,
		Scopes:     k.Scopes,
		CreateTime: timestamppb.New(k.CreateTime),
		ExpireTime: optionalTime(k.ExpireTime),
		RevokeTime: optionalTime(k.RevokeTime),
		Prefix:     k.Prefix,
	}
}

func clientProto(c *identity.Client) *identityv1.Client {
	return &identityv1.Client{
		ClientId:   c.ID,
		Name:       c.Name,
		Scopes:     c.Scopes,
		CreateTime: timestamppb.New(c.CreateTime),
	}
}

// optionalTime is unset for the zero time.
func optionalTime(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// joinScopes is the OAuth2 scope form: space-separated (RFC 6749 3.3).
func joinScopes(scopes []string) string { return strings.Join(scopes, " ") }
