package auth_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/metadata"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

func ExampleAuthenticator() {
	// The identity service signs access tokens; every service verifies them
	// with the published key set (auth.IdentityJWKS fetches it over gRPC).
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	jwks := []auth.JWK{{
		KeyID: "k1", KeyType: "OKP", Curve: "Ed25519", Algorithm: "EdDSA", Use: "sig",
		X: base64.RawURLEncoding.EncodeToString(priv.Public().(ed25519.PublicKey)),
	}}
	keys := auth.NewKeySet(func(context.Context) ([]auth.JWK, time.Duration, error) { return jwks, time.Hour, nil })
	a := auth.NewAuthenticator(auth.WithKeySet(keys)) // pass it to grpcx.WithAuthorizer

	now := time.Now()
	token, err := auth.SignAccessToken(auth.SigningKey{ID: "k1", Private: priv}, auth.AccessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: auth.DefaultIssuer, Audience: jwt.ClaimStrings{auth.DefaultAudience}, Subject: "u1",
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(15 * time.Minute)),
		},
		Kind:  "user",
		Roles: []string{"customer"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	// What a server sees of a call carrying the token; gRPC ends each
	// call's context when the call ends.
	call, end := context.WithCancel(metadata.NewIncomingContext(context.Background(),
		metadata.Pairs("authorization", "Bearer "+token)))
	defer end()

	ctx, err := a.Authorize(call, "/bazaar.identity.v1.IdentityService/GetMe", &auth.Policy{Authenticated: true})
	fmt.Println(auth.PrincipalFrom(ctx).Key(), err)

	_, err = a.Authorize(call, "/bazaar.identity.v1.IdentityService/ListUsers", &auth.Policy{Roles: []string{"admin"}})
	d := errs.FromError(errs.ToStatus(err).Err())
	fmt.Println(d.Code, d.Reason, d.Metadata["method"])
	// Output:
	// user:u1 <nil>
	// PermissionDenied POLICY_DENIED /bazaar.identity.v1.IdentityService/ListUsers
}

func ExampleServiceSPIFFEID() {
	// The URI SAN of the order service's client certificate; a server with
	// auth.WithPeerIdentities(true) admits it where a policy lists "order".
	fmt.Println(auth.ServiceSPIFFEID("order"))
	// Output: spiffe://bazaar.dev/order
}
