package auth_test

import (
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
)

// staticLookup is a KeyLookup over fixed keys.
func staticLookup(keys ...keyPair) auth.KeyLookup {
	return func(kid string) (ed25519.PublicKey, error) {
		for _, k := range keys {
			if k.signing.ID == kid {
				return k.public, nil
			}
		}
		return nil, fmt.Errorf("kid %q: %w", kid, auth.ErrUnknownKey)
	}
}

func newParser(now time.Time) *auth.TokenParser {
	return auth.NewTokenParser(auth.DefaultIssuer, auth.DefaultAudience, auth.DefaultLeeway, func() time.Time { return now })
}

func TestSignAndParseRoundTrip(t *testing.T) {
	t.Parallel()
	k1 := newKeyPair("k1", 1)
	for _, c := range []auth.AccessClaims{
		userClaims(t0, "u1", "customer", "admin"),
		clientClaims(t0, "c1", "catalog:read catalog:write"),
	} {
		token, err := auth.SignAccessToken(k1.signing, c)
		if err != nil {
			t.Fatalf("SignAccessToken(%s) = %v", c.Kind, err)
		}
		got, err := newParser(t0).Parse(token, staticLookup(k1))
		if err != nil {
			t.Fatalf("Parse(SignAccessToken(%s)) = %v", c.Kind, err)
		}
		c.Type = auth.TokenTypeAccess
		if diff := cmp.Diff(&c, got); diff != "" {
			t.Errorf("Parse(SignAccessToken(%s)) mismatch (-want +got):\n%s", c.Kind, diff)
		}
		// The header pins the algorithm, the type and the key id.
		tok, _, err := jwt.NewParser().ParseUnverified(token, &auth.AccessClaims{})
		if err != nil {
			t.Fatal(err)
		}
		if tok.Header["alg"] != "EdDSA" || tok.Header["typ"] != auth.TokenHeaderType || tok.Header["kid"] != "k1" {
			t.Errorf("token header = %v, want alg EdDSA, typ %s, kid k1", tok.Header, auth.TokenHeaderType)
		}
	}
}

func TestSignAccessTokenRefusesIncompleteClaims(t *testing.T) {
	t.Parallel()
	k1 := newKeyPair("k1", 1)
	for _, tc := range []struct {
		name   string
		key    auth.SigningKey
		mutate func(*auth.AccessClaims)
	}{
		{"no key id", auth.SigningKey{Private: k1.signing.Private}, func(*auth.AccessClaims) {}},
		{"short key", auth.SigningKey{ID: "k1", Private: k1.signing.Private[:32]}, func(*auth.AccessClaims) {}},
		{"no issuer", k1.signing, func(c *auth.AccessClaims) { c.Issuer = "" }},
		{"no audience", k1.signing, func(c *auth.AccessClaims) { c.Audience = nil }},
		{"no subject", k1.signing, func(c *auth.AccessClaims) { c.Subject = "" }},
		{"no expiry", k1.signing, func(c *auth.AccessClaims) { c.ExpiresAt = nil }},
		{"no issue time", k1.signing, func(c *auth.AccessClaims) { c.IssuedAt = nil }},
		{"no kind", k1.signing, func(c *auth.AccessClaims) { c.Kind = "" }},
		{"kind service", k1.signing, func(c *auth.AccessClaims) { c.Kind = "service" }},
	} {
		c := userClaims(t0, "u1")
		tc.mutate(&c)
		if token, err := auth.SignAccessToken(tc.key, c); err == nil {
			t.Errorf("SignAccessToken(%s) = %q, nil; want an error", tc.name, token)
		}
	}
}

// TestSignAccessTokenSetsType: whatever typ the caller sets, an access
// token says access.
func TestSignAccessTokenSetsType(t *testing.T) {
	t.Parallel()
	k1 := newKeyPair("k1", 1)
	c := userClaims(t0, "u1")
	c.Type = "refresh"
	got, err := newParser(t0).Parse(sign(t, k1, c), staticLookup(k1))
	if err != nil || got.Type != auth.TokenTypeAccess {
		t.Errorf("Parse(SignAccessToken(typ refresh)) = %+v, %v; want typ access", got, err)
	}
}

func TestParseReasons(t *testing.T) {
	t.Parallel()
	k1 := newKeyPair("k1", 1)
	expired := userClaims(t0.Add(-time.Hour), "u1")
	for _, tc := range []struct {
		name, token, reason string
	}{
		{"expired", sign(t, k1, expired), "TOKEN_EXPIRED"},
		{"unknown key", sign(t, newKeyPair("k9", 9), userClaims(t0, "u1")), "UNKNOWN_SIGNING_KEY"},
		{"garbage", "not.a.token", "TOKEN_INVALID"},
		{"empty", "", "TOKEN_INVALID"},
	} {
		_, err := newParser(t0).Parse(tc.token, staticLookup(k1))
		wantCode(t, "Parse("+tc.name+")", err, codes.Unauthenticated, tc.reason)
	}
}

// TestParseIsStrict: the parser refuses what a lenient JWT library might
// accept.
func TestParseIsStrict(t *testing.T) {
	t.Parallel()
	k1 := newKeyPair("k1", 1)
	valid := sign(t, k1, userClaims(t0, "u1"))
	parts := strings.Split(valid, ".")
	for name, token := range map[string]string{
		"padded payload":     parts[0] + "." + parts[1] + "==." + parts[2],
		"standard base64":    strings.NewReplacer("-", "+", "_", "/").Replace(valid),
		"extra segment":      valid + ".x",
		"whitespace":         " " + valid,
		"signature appended": valid + "A",
	} {
		if token == valid {
			t.Fatalf("case %s did not change the token", name)
		}
		if _, err := newParser(t0).Parse(token, staticLookup(k1)); err == nil {
			t.Errorf("Parse(%s) = nil error, want one", name)
		}
	}
}

func TestAccessClaimsPrincipal(t *testing.T) {
	t.Parallel()
	exp := t0.Add(15 * time.Minute)
	client := clientClaims(t0, "c1", " catalog:read  catalog:write ")
	client.Roles = []string{"admin"}
	noExp := userClaims(t0, "u1")
	noExp.ExpiresAt = nil
	for _, tc := range []struct {
		name   string
		claims auth.AccessClaims
		want   *auth.Principal
	}{
		{"user", userClaims(t0, "u1", "admin"), &auth.Principal{Kind: auth.User, Subject: "u1", Roles: []string{"admin"}, Expiry: exp}},
		{"client: scopes, never roles", client, &auth.Principal{Kind: auth.Client, Subject: "c1", Scopes: []string{"catalog:read", "catalog:write"}, Expiry: exp}},
		{"no expiry", noExp, &auth.Principal{Kind: auth.User, Subject: "u1"}},
	} {
		if diff := cmp.Diff(tc.want, tc.claims.Principal()); diff != "" {
			t.Errorf("(%s).Principal() mismatch (-want +got):\n%s", tc.name, diff)
		}
	}
}
