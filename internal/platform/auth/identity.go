package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	identityv1 "github.com/bazaarhq/bazaar/gen/bazaar/identity/v1"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// identityCallTimeout bounds each call to the identity service made here.
// The caller's own deadline applies too when it is shorter.
const identityCallTimeout = 5 * time.Second

// IdentityJWKS returns a FetchJWKS that calls the identity service's
// GetJwks (with a deadline) and takes the set's lifetime from its
// cache_seconds.
func IdentityJWKS(client identityv1.IdentityServiceClient) FetchJWKS {
	return func(ctx context.Context) ([]JWK, time.Duration, error) {
		ctx, cancel := context.WithTimeout(ctx, identityCallTimeout)
		defer cancel()
		resp, err := client.GetJwks(ctx, &identityv1.GetJwksRequest{})
		if err != nil {
			return nil, 0, fmt.Errorf("identity GetJwks: %w", err)
		}
		keys := make([]JWK, 0, len(resp.GetKeys()))
		for _, k := range resp.GetKeys() {
			keys = append(keys, JWK{
				KeyID:     k.GetKid(),
				KeyType:   k.GetKty(),
				Curve:     k.GetCrv(),
				X:         k.GetX(),
				Algorithm: k.GetAlg(),
				Use:       k.GetUse(),
			})
		}
		return keys, time.Duration(max(resp.GetCacheSeconds(), 0)) * time.Second, nil
	}
}

// IdentityAPIKeys returns an APIKeyVerifier that asks the identity
// service's VerifyApiKey on every call (no caching: a revoked key fails at
// once). Its UNAUTHENTICATED answer becomes ReasonAPIKeyInvalid; UNAVAILABLE
// and timeouts become UNAVAILABLE ReasonAPIKeyVerifierUnavailable, so the
// client retries; the end of the caller's own context is returned as is.
func IdentityAPIKeys(client identityv1.IdentityServiceClient) APIKeyVerifier {
	return identityAPIKeys{client: client}
}

type identityAPIKeys struct {
	client identityv1.IdentityServiceClient
}

func (v identityAPIKeys) VerifyAPIKey(ctx context.Context, secret string) (*Principal, error) {
	callCtx, cancel := context.WithTimeout(ctx, identityCallTimeout)
	defer cancel()
	resp, err := v.client.VerifyApiKey(callCtx, &identityv1.VerifyApiKeyRequest{Secret: secret})
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		switch status.Code(err) {
		case codes.Unauthenticated, codes.InvalidArgument:
			// InvalidArgument: identity's validation refused the secret's
			// shape, so no key has it.
			return nil, errs.Wrap(err, errs.Unauthenticated, ReasonAPIKeyInvalid, "the API key is not valid")
		case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted:
			return nil, errs.Wrap(err, errs.Unavailable, ReasonAPIKeyVerifierUnavailable,
				"the API key cannot be checked now; retry")
		}
		return nil, errs.Wrap(err, errs.Internal, "API_KEY_VERIFIER", "")
	}
	if resp.GetUserId() == "" || resp.GetApiKeyId() == "" {
		return nil, errs.Wrap(errors.New("identity VerifyApiKey answered without user_id or api_key_id"),
			errs.Internal, "API_KEY_VERIFIER", "")
	}
	p := &Principal{
		Kind:     APIKey,
		Subject:  resp.GetUserId(),
		APIKeyID: resp.GetApiKeyId(),
		Scopes:   resp.GetScopes(),
	}
	if resp.GetExpireTime() != nil {
		p.Expiry = resp.GetExpireTime().AsTime()
	}
	return p, nil
}
