package auth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/metadata"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// FuzzTokenParse feeds arbitrary strings to TokenParser.Parse and to the
// Authenticator as a bearer token, a whole authorization header and an API
// key. Nothing may panic; the only strings admitted are the valid tokens
// and the one valid API key the seeds contain (a mutation of a signed
// token that still verifies would be a forgery); every refusal is an
// UNAUTHENTICATED *errs.Error.
func FuzzTokenParse(f *testing.F) {
	k1 := newKeyPair("k1", 1)
	user := sign(f, k1, userClaims(t0, "u1", "admin"))
	client := sign(f, k1, clientClaims(t0, "c1", "identity:admin"))
	const apiKey = "bzk_fuzz_valid_key"
	valid := map[string]bool{user: true, client: true}

	hdr := map[string]any{"kid": "k1", "typ": "at+jwt"}
	for _, s := range []string{
		user, client,
		user[:len(user)/2], user[:strings.LastIndexByte(user, '.')], user[:strings.LastIndexByte(user, '.')+1],
		strings.Replace(user, ".", "..", 1), user + user, user[1:],
		craft(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, hdr, accessMap(t0, "u1")),
		craft(f, jwt.SigningMethodHS256, []byte(k1.public), hdr, accessMap(t0, "u1")),
		sign(f, newKeyPair("k9", 9), userClaims(t0, "u1")),
		"", ".", "..", "...", "a.b.c", "e30.e30.", "e30.e30.e30", "eyJhbGciOiJFZERTQSJ9..",
		"Bearer " + user, "bearer " + user, "Basic dXNlcjpwYXNz", apiKey,
		"\x00\xff\xfe", strings.Repeat("A", 5000), "ey" + strings.Repeat(".", 100),
	} {
		f.Add(s)
	}

	keys := auth.NewKeySet(newJWKSSource(k1).Fetch, auth.WithClock(func() time.Time { return t0 }))
	if err := keys.Refresh(f.Context()); err != nil {
		f.Fatal(err)
	}
	identity := newFakeIdentity()
	identity.addAPIKey(apiKey, "key-1", "u1", "identity:admin")
	a := auth.NewAuthenticator(auth.WithKeySet(keys), auth.WithAPIKeys(identity),
		auth.WithClock(func() time.Time { return t0 }), auth.WithPeerIdentities(true))
	parser := auth.NewTokenParser(auth.DefaultIssuer, auth.DefaultAudience, auth.DefaultLeeway, func() time.Time { return t0 })

	f.Fuzz(func(t *testing.T, s string) {
		if _, err := parser.Parse(s, keys.Lookup); err == nil && !valid[s] {
			t.Fatalf("Parse(%q) admitted a token nobody signed", s)
		} else if err != nil && errs.KindOfError(err) != errs.Unauthenticated {
			t.Fatalf("Parse(%q) = %v, want an Unauthenticated error", s, err)
		}
		for _, tc := range []struct {
			key, value string
			admits     bool
		}{
			{"authorization", "Bearer " + s, valid[s]},
			{"authorization", s, isValidBearer(s, valid)},
			{"x-api-key", s, s == apiKey},
		} {
			ctx := metadata.NewIncomingContext(t.Context(), metadata.MD{tc.key: {tc.value}})
			for _, p := range []*auth.Policy{adminOnly, public} {
				_, err := a.Authorize(ctx, method, p)
				switch {
				case err == nil && !tc.admits:
					t.Fatalf("Authorize(%s: %q, %v) admitted the call", tc.key, tc.value, p)
				case err != nil && tc.admits:
					t.Fatalf("Authorize(%s: %q, %v) = %v, want admitted", tc.key, tc.value, p, err)
				case err != nil && errs.KindOfError(err) != errs.Unauthenticated:
					t.Fatalf("Authorize(%s: %q, %v) = %v, want Unauthenticated", tc.key, tc.value, p, err)
				}
			}
		}
	})
}

// isValidBearer reports whether header is "Bearer <a valid token>", the
// scheme in any case.
func isValidBearer(header string, valid map[string]bool) bool {
	scheme, token, ok := strings.Cut(header, " ")
	return ok && strings.EqualFold(scheme, "bearer") && valid[token]
}
