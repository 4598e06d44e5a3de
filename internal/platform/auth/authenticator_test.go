package auth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
)

const method = "/bazaar.test.v1.TestService/Call"

// authorizeCase is one call to Authorize and its expected answer: admitted
// (code OK) or refused with a code and reason.
type authorizeCase struct {
	name   string
	ctx    func(t *testing.T) context.Context
	policy *auth.Policy
	code   codes.Code
	reason string
}

func runAuthorizeCases(t *testing.T, newAuth func() *auth.Authenticator, cases []authorizeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			policy := tc.policy
			if policy == nil {
				policy = authenticated
			}
			ctx, err := newAuth().Authorize(tc.ctx(t), method, policy)
			wantCode(t, "Authorize()", err, tc.code, tc.reason)
			if err == nil && !policy.GetPublic() && auth.PrincipalFrom(ctx) == nil {
				t.Errorf("Authorize() admitted a call to a non-public method with no principal")
			}
		})
	}
}

func bearerCase(name, token string, code codes.Code, reason string) authorizeCase {
	return authorizeCase{name: name, ctx: func(t *testing.T) context.Context { return bearer(t, token) }, code: code, reason: reason}
}

func onPolicy(c authorizeCase, p *auth.Policy) authorizeCase {
	c.policy = p
	return c
}

func TestMissingCredentials(t *testing.T) {
	t.Parallel()
	a := newKeyEnv().authenticator()
	_, err := a.Authorize(t.Context(), method, authenticated)
	wantCode(t, "Authorize(no credentials, authenticated)", err, codes.Unauthenticated, "CREDENTIALS_REQUIRED")
	if got := details(err).Metadata["method"]; got != method {
		t.Errorf("Authorize(no credentials) metadata method = %q, want %q", got, method)
	}
	for _, p := range []*auth.Policy{adminOnly, {Services: []string{"order"}}, {Scopes: []string{"catalog:write"}}} {
		_, err := a.Authorize(t.Context(), method, p)
		wantCode(t, "Authorize(no credentials, "+p.String()+")", err, codes.Unauthenticated, "CREDENTIALS_REQUIRED")
	}
	ctx, err := a.Authorize(t.Context(), method, public)
	if err != nil || auth.PrincipalFrom(ctx) != nil {
		t.Errorf("Authorize(no credentials, public) = principal %v, %v; want anonymous, nil", auth.PrincipalFrom(ctx), err)
	}
}

func TestMalformedCredentials(t *testing.T) {
	t.Parallel()
	e := newKeyEnv()
	token := sign(t, e.k1, userClaims(t0, "u1"))
	header := func(k, v string) func(t *testing.T) context.Context {
		return func(t *testing.T) context.Context { return incoming(t, k, v) }
	}
	var cases []authorizeCase
	for _, v := range []string{
		"", "Bearer", "Bearer ", "Bearer  " + token, "Bearer " + token + " x", "Basic dXNlcjpwYXNz",
		"Token " + token, token, "Bearer " + strings.Repeat("a", 5000), "Bearer " + token + "\x00",
		"Bearer é" + token, "Bearer ===", "Bearer a=b",
	} {
		for _, p := range []*auth.Policy{authenticated, public} {
			cases = append(cases, authorizeCase{
				name: "authorization " + truncate(v) + " " + p.String(), ctx: header("authorization", v),
				policy: p, code: codes.Unauthenticated, reason: "CREDENTIALS_MALFORMED",
			})
		}
	}
	for _, v := range []string{"", "has space", strings.Repeat("k", 257), "key\x7f", "clé"} {
		cases = append(cases, authorizeCase{
			name: "x-api-key " + truncate(v), ctx: header("x-api-key", v),
			code: codes.Unauthenticated, reason: "CREDENTIALS_MALFORMED",
		})
	}
	// The scheme is case-insensitive (RFC 7235).
	for _, scheme := range []string{"Bearer", "bearer", "BEARER", "bEaReR"} {
		cases = append(cases, authorizeCase{name: "scheme " + scheme, ctx: header("authorization", scheme+" "+token)})
	}
	f := newFakeIdentity()
	runAuthorizeCases(t, func() *auth.Authenticator { return e.authenticator(auth.WithAPIKeys(f)) }, cases)
	if n := f.verifications(); n != 0 {
		t.Errorf("malformed API keys reached the verifier %d times, want 0", n)
	}
}

func truncate(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}

func TestAmbiguousCredentials(t *testing.T) {
	t.Parallel()
	e := newKeyEnv()
	f := newFakeIdentity()
	f.addAPIKey("secret-1", "key-1", "u1", "catalog:read")
	token := sign(t, e.k1, userClaims(t0, "u1"))
	md := func(kv ...string) func(t *testing.T) context.Context {
		return func(t *testing.T) context.Context { return incoming(t, kv...) }
	}
	runAuthorizeCases(t, func() *auth.Authenticator { return e.authenticator(auth.WithAPIKeys(f)) }, []authorizeCase{
		{name: "bearer and API key", ctx: md("authorization", "Bearer "+token, "x-api-key", "secret-1"), code: codes.Unauthenticated, reason: "CREDENTIALS_AMBIGUOUS"},
		{name: "two bearer tokens", ctx: md("authorization", "Bearer "+token, "authorization", "Bearer "+token), code: codes.Unauthenticated, reason: "CREDENTIALS_AMBIGUOUS"},
		{name: "two API keys", ctx: md("x-api-key", "secret-1", "x-api-key", "secret-1"), code: codes.Unauthenticated, reason: "CREDENTIALS_AMBIGUOUS"},
		{name: "on a public method too", ctx: md("authorization", "Bearer "+token, "x-api-key", "secret-1"), policy: public, code: codes.Unauthenticated, reason: "CREDENTIALS_AMBIGUOUS"},
		{name: "bearer alone", ctx: md("authorization", "Bearer "+token)},
		{name: "API key alone", ctx: md("x-api-key", "secret-1")},
	})
}

func TestUnsupportedCredentials(t *testing.T) {
	t.Parallel()
	e := newKeyEnv()
	token := sign(t, e.k1, userClaims(t0, "u1"))
	runAuthorizeCases(t, func() *auth.Authenticator { return auth.NewAuthenticator() }, []authorizeCase{
		{name: "bearer without a key set", ctx: func(t *testing.T) context.Context { return bearer(t, token) }, policy: public, code: codes.Unauthenticated, reason: "CREDENTIALS_UNSUPPORTED"},
		{name: "API key without a verifier", ctx: func(t *testing.T) context.Context { return incoming(t, "x-api-key", "k") }, policy: public, code: codes.Unauthenticated, reason: "CREDENTIALS_UNSUPPORTED"},
		{name: "anonymous on public", ctx: func(t *testing.T) context.Context { return t.Context() }, policy: public},
		{name: "anonymous on authenticated", ctx: func(t *testing.T) context.Context { return t.Context() }, code: codes.Unauthenticated, reason: "CREDENTIALS_REQUIRED"},
	})
}

// TestTokenLifetime: expired beyond the leeway and not yet valid beyond it
// are UNAUTHENTICATED; within the leeway they are accepted.
func TestTokenLifetime(t *testing.T) {
	t.Parallel()
	e := newKeyEnv()
	at := func(mutate func(c *auth.AccessClaims)) string {
		c := userClaims(t0.Add(-time.Hour), "u1")
		c.ExpiresAt = jwt.NewNumericDate(t0.Add(10 * time.Minute))
		mutate(&c)
		return sign(t, e.k1, c)
	}
	noExp := accessMap(t0, "u1")
	delete(noExp, "exp")
	runAuthorizeCases(t, func() *auth.Authenticator { return e.authenticator() }, []authorizeCase{
		bearerCase("valid", at(func(*auth.AccessClaims) {}), codes.OK, ""),
		bearerCase("expired within leeway", at(func(c *auth.AccessClaims) { c.ExpiresAt = jwt.NewNumericDate(t0.Add(-29 * time.Second)) }), codes.OK, ""),
		bearerCase("expired beyond leeway", at(func(c *auth.AccessClaims) { c.ExpiresAt = jwt.NewNumericDate(t0.Add(-31 * time.Second)) }), codes.Unauthenticated, "TOKEN_EXPIRED"),
		bearerCase("expired long ago", at(func(c *auth.AccessClaims) { c.ExpiresAt = jwt.NewNumericDate(t0.Add(-24 * time.Hour)) }), codes.Unauthenticated, "TOKEN_EXPIRED"),
		bearerCase("nbf within leeway", at(func(c *auth.AccessClaims) { c.NotBefore = jwt.NewNumericDate(t0.Add(29 * time.Second)) }), codes.OK, ""),
		bearerCase("nbf beyond leeway", at(func(c *auth.AccessClaims) { c.NotBefore = jwt.NewNumericDate(t0.Add(31 * time.Second)) }), codes.Unauthenticated, "TOKEN_INVALID"),
		bearerCase("iat within leeway", at(func(c *auth.AccessClaims) { c.IssuedAt = jwt.NewNumericDate(t0.Add(29 * time.Second)) }), codes.OK, ""),
		bearerCase("iat beyond leeway", at(func(c *auth.AccessClaims) { c.IssuedAt = jwt.NewNumericDate(t0.Add(31 * time.Second)) }), codes.Unauthenticated, "TOKEN_INVALID"),
		bearerCase("no exp", craft(t, jwt.SigningMethodEdDSA, e.k1.signing.Private, map[string]any{"kid": "k1", "typ": "at+jwt"}, noExp), codes.Unauthenticated, "TOKEN_INVALID"),
	})
	// WithLeeway narrows the tolerance.
	expired := at(func(c *auth.AccessClaims) { c.ExpiresAt = jwt.NewNumericDate(t0.Add(-2 * time.Second)) })
	_, err := e.authenticator(auth.WithLeeway(time.Second)).Authorize(bearer(t, expired), method, authenticated)
	wantCode(t, "Authorize(expired 2s ago, leeway 1s)", err, codes.Unauthenticated, "TOKEN_EXPIRED")
}

func TestWrongIssuerOrAudience(t *testing.T) {
	t.Parallel()
	e := newKeyEnv()
	with := func(mutate func(c *auth.AccessClaims)) string {
		c := userClaims(t0, "u1")
		mutate(&c)
		return sign(t, e.k1, c)
	}
	cases := []authorizeCase{
		bearerCase("wrong issuer", with(func(c *auth.AccessClaims) { c.Issuer = "https://evil.example" }), codes.Unauthenticated, "TOKEN_INVALID"),
		bearerCase("issuer differs in case", with(func(c *auth.AccessClaims) { c.Issuer = strings.ToUpper(auth.DefaultIssuer) }), codes.Unauthenticated, "TOKEN_INVALID"),
		bearerCase("wrong audience", with(func(c *auth.AccessClaims) { c.Audience = jwt.ClaimStrings{"other-shop"} }), codes.Unauthenticated, "TOKEN_INVALID"),
		bearerCase("audience among others", with(func(c *auth.AccessClaims) { c.Audience = jwt.ClaimStrings{"other", auth.DefaultAudience} }), codes.OK, ""),
	}
	runAuthorizeCases(t, func() *auth.Authenticator { return e.authenticator() }, cases)

	// WithIssuer and WithAudience set what is expected.
	custom := with(func(c *auth.AccessClaims) { c.Issuer, c.Audience = "https://id.test", jwt.ClaimStrings{"test"} })
	a := e.authenticator(auth.WithIssuer("https://id.test"), auth.WithAudience("test"))
	if _, err := a.Authorize(bearer(t, custom), method, authenticated); err != nil {
		t.Errorf("Authorize(custom iss/aud) = %v, want nil", err)
	}
	_, err := a.Authorize(bearer(t, sign(t, e.k1, userClaims(t0, "u1"))), method, authenticated)
	wantCode(t, "Authorize(default iss/aud, custom authenticator)", err, codes.Unauthenticated, "TOKEN_INVALID")
}

// TestUnsignedToken: alg "none" is refused whatever it claims.
func TestUnsignedToken(t *testing.T) {
	t.Parallel()
	e := newKeyEnv()
	none := craft(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"kid": "k1", "typ": "at+jwt"}, accessMap(t0, "u1"))
	// The same with the valid token's signature appended.
	valid := sign(t, e.k1, userClaims(t0, "u1"))
	noneWithSig := none + valid[strings.LastIndexByte(valid, '.')+1:]
	runAuthorizeCases(t, func() *auth.Authenticator { return e.authenticator() }, []authorizeCase{
		bearerCase("alg none", none, codes.Unauthenticated, "TOKEN_INVALID"),
		bearerCase("alg none with a signature", noneWithSig, codes.Unauthenticated, "TOKEN_INVALID"),
	})
	if n := e.src.count(); n != 0 {
		t.Errorf("unsigned tokens made %d key set fetches, want 0 (the algorithm is checked first)", n)
	}
}

// TestAlgorithmConfusion: an HMAC token keyed with the public key (which
// anyone can fetch) must not verify.
func TestAlgorithmConfusion(t *testing.T) {
	t.Parallel()
	e := newKeyEnv()
	hdr := map[string]any{"kid": "k1", "typ": "at+jwt"}
	runAuthorizeCases(t, func() *auth.Authenticator { return e.authenticator() }, []authorizeCase{
		bearerCase("HS256 keyed with the raw public key", craft(t, jwt.SigningMethodHS256, []byte(e.k1.public), hdr, accessMap(t0, "u1")), codes.Unauthenticated, "TOKEN_INVALID"),
		bearerCase("HS256 keyed with the JWK x", craft(t, jwt.SigningMethodHS256, []byte(e.k1.jwk().X), hdr, accessMap(t0, "u1")), codes.Unauthenticated, "TOKEN_INVALID"),
		bearerCase("HS512 keyed with the raw public key", craft(t, jwt.SigningMethodHS512, []byte(e.k1.public), hdr, accessMap(t0, "u1")), codes.Unauthenticated, "TOKEN_INVALID"),
	})
}

func TestWronglySignedToken(t *testing.T) {
	t.Parallel()
	e := newKeyEnv()
	// An attacker's key, presented under our key id.
	forged := sign(t, keyPair{signing: auth.SigningKey{ID: "k1", Private: newKeyPair("x", 9).signing.Private}}, userClaims(t0, "u1", "admin"))
	// A valid customer token whose payload is swapped for an admin one.
	valid := sign(t, e.k1, userClaims(t0, "u1"))
	parts := strings.Split(valid, ".")
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"` + auth.DefaultIssuer + `","aud":"bazaar","sub":"u1","exp":` +
		strconv.FormatInt(t0.Add(time.Hour).Unix(), 10) + `,"iat":` + strconv.FormatInt(t0.Unix(), 10) + `,"typ":"access","kind":"user","roles":["admin"]}`))
	tampered := strings.Join(parts, ".")
	// A flipped bit in the signature.
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[0] ^= 1
	flipped := parts[0] + "." + strings.Split(valid, ".")[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	runAuthorizeCases(t, func() *auth.Authenticator { return e.authenticator() }, []authorizeCase{
		bearerCase("signed by another key", forged, codes.Unauthenticated, "TOKEN_INVALID"),
		bearerCase("payload tampered", tampered, codes.Unauthenticated, "TOKEN_INVALID"),
		bearerCase("signature bit flipped", flipped, codes.Unauthenticated, "TOKEN_INVALID"),
		bearerCase("truncated", valid[:len(valid)-10], codes.Unauthenticated, "TOKEN_INVALID"),
		bearerCase("no kid", craft(t, jwt.SigningMethodEdDSA, e.k1.signing.Private, map[string]any{"typ": "at+jwt"}, accessMap(t0, "u1")), codes.Unauthenticated, "TOKEN_INVALID"),
	})
}

// TestUnknownSigningKey: an unknown kid refetches the key set once; a
// second unknown kid within the minimum interval does not.
func TestUnknownSigningKey(t *testing.T) {
	t.Parallel()
	e := newKeyEnv()
	a := e.authenticator()
	if _, err := a.Authorize(bearer(t, sign(t, e.k1, userClaims(t0, "u1"))), method, authenticated); err != nil {
		t.Fatalf("Authorize(k1 token) = %v", err)
	}
	if n := e.src.count(); n != 1 {
		t.Fatalf("key set fetched %d times after the first token, want 1", n)
	}
	e.clock.Advance(auth.DefaultMinRefetchInterval + time.Second)
	now := e.clock.Now()
	k9 := sign(t, newKeyPair("k9", 9), userClaims(now, "u1"))
	k8 := sign(t, newKeyPair("k8", 8), userClaims(now, "u1"))
	for i, step := range []struct {
		token       string
		wantFetches int
	}{
		{k9, 2}, // refetched once
		{k9, 2}, // the same kid again: no refetch
		{k8, 2}, // another unknown kid within the interval: no refetch
	} {
		_, err := a.Authorize(bearer(t, step.token), method, authenticated)
		wantCode(t, "Authorize(unknown kid)", err, codes.Unauthenticated, "UNKNOWN_SIGNING_KEY")
		if n := e.src.count(); n != step.wantFetches {
			t.Errorf("step %d: key set fetched %d times, want %d", i, n, step.wantFetches)
		}
	}
	e.clock.Advance(auth.DefaultMinRefetchInterval)
	_, err := a.Authorize(bearer(t, k8), method, authenticated)
	wantCode(t, "Authorize(unknown kid, next interval)", err, codes.Unauthenticated, "UNKNOWN_SIGNING_KEY")
	if n := e.src.count(); n != 3 {
		t.Errorf("key set fetched %d times after the interval passed, want 3", n)
	}
}

// TestKeyRotation: a token signed with a key published since the last
// fetch verifies after one refetch; the retired key's tokens stay valid
// while the set still publishes it.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	e := newKeyEnv()
	a := e.authenticator()
	old := sign(t, e.k1, userClaims(t0, "u1"))
	if _, err := a.Authorize(bearer(t, old), method, authenticated); err != nil {
		t.Fatalf("Authorize(k1 token) = %v", err)
	}
	k2 := newKeyPair("k2", 2)
	e.src.publish(k2, e.k1)
	e.clock.Advance(auth.DefaultMinRefetchInterval)
	for _, tok := range []string{sign(t, k2, userClaims(e.clock.Now(), "u2")), old} {
		if _, err := a.Authorize(bearer(t, tok), method, authenticated); err != nil {
			t.Errorf("Authorize(after rotation) = %v, want nil", err)
		}
	}
	if n := e.src.count(); n != 2 {
		t.Errorf("key set fetched %d times, want 2", n)
	}
}

// TestKeySetUnavailableIsRetryable: a kid that cannot be looked up
// because the key set cannot be fetched is UNAVAILABLE, not a verdict.
func TestKeySetUnavailableIsRetryable(t *testing.T) {
	t.Parallel()
	e := newKeyEnv()
	e.src.fail(errors.New("identity: connection refused"))
	_, err := e.authenticator().Authorize(bearer(t, sign(t, e.k1, userClaims(t0, "u1"))), method, authenticated)
	wantCode(t, "Authorize(key set down)", err, codes.Unavailable, "KEY_SET_UNAVAILABLE")
}

// TestRefreshTokenIsNotAnAccessToken: refresh tokens are opaque, and no
// token typed otherwise than an access token passes for one.
func TestRefreshTokenIsNotAnAccessToken(t *testing.T) {
	t.Parallel()
	e := newKeyEnv()
	with := func(header map[string]any, mutate func(jwt.MapClaims)) string {
		h := map[string]any{"kid": "k1", "typ": "at+jwt"}
		for k, v := range header {
			h[k] = v
		}
		c := accessMap(t0, "u1")
		mutate(c)
		return craft(t, jwt.SigningMethodEdDSA, e.k1.signing.Private, h, c)
	}
	keep := func(jwt.MapClaims) {}
	opaque := base64.RawURLEncoding.EncodeToString(bytesOf(7, 32))
	runAuthorizeCases(t, func() *auth.Authenticator { return e.authenticator() }, []authorizeCase{
		bearerCase("opaque refresh token", opaque, codes.Unauthenticated, "TOKEN_INVALID"),
		onPolicy(bearerCase("opaque refresh token on a public method", opaque, codes.Unauthenticated, "TOKEN_INVALID"), public),
		bearerCase("typ claim refresh", with(nil, func(c jwt.MapClaims) { c["typ"] = "refresh" }), codes.Unauthenticated, "TOKEN_INVALID"),
		bearerCase("no typ claim", with(nil, func(c jwt.MapClaims) { delete(c, "typ") }), codes.Unauthenticated, "TOKEN_INVALID"),
		bearerCase("header typ JWT", with(map[string]any{"typ": "JWT"}, keep), codes.Unauthenticated, "TOKEN_INVALID"),
		bearerCase("no header typ", with(map[string]any{"typ": nil}, keep), codes.Unauthenticated, "TOKEN_INVALID"),
		bearerCase("kind claim missing", with(nil, func(c jwt.MapClaims) { delete(c, "kind") }), codes.Unauthenticated, "TOKEN_INVALID"),
		bearerCase("kind claim admin", with(nil, func(c jwt.MapClaims) { c["kind"] = "admin" }), codes.Unauthenticated, "TOKEN_INVALID"),
		bearerCase("well-formed access token", with(nil, keep), codes.OK, ""),
	})
}

// TestCustomerCallingAdminMethod and the other policy decisions: a valid
// credential the policy does not admit is PERMISSION_DENIED.
func TestCustomerCallingAdminMethod(t *testing.T) {
	t.Parallel()
	e := newKeyEnv()
	customer := sign(t, e.k1, userClaims(t0, "u1", "customer"))
	admin := sign(t, e.k1, userClaims(t0, "u2", "admin"))
	adminClient := sign(t, e.k1, clientClaims(t0, "c1", "catalog:read identity:admin"))
	readClient := sign(t, e.k1, clientClaims(t0, "c2", "catalog:read"))
	clientWithRoles := clientClaims(t0, "c3", "catalog:read")
	clientWithRoles.Roles = []string{"admin"} // ignored: clients have scopes
	runAuthorizeCases(t, func() *auth.Authenticator { return e.authenticator() }, []authorizeCase{
		onPolicy(bearerCase("customer on admin method", customer, codes.PermissionDenied, "POLICY_DENIED"), adminOnly),
		onPolicy(bearerCase("admin on admin method", admin, codes.OK, ""), adminOnly),
		onPolicy(bearerCase("client with scope on admin method", adminClient, codes.OK, ""), adminOnly),
		onPolicy(bearerCase("client without scope on admin method", readClient, codes.PermissionDenied, "POLICY_DENIED"), adminOnly),
		onPolicy(bearerCase("client claiming roles", sign(t, e.k1, clientWithRoles), codes.PermissionDenied, "POLICY_DENIED"), adminOnly),
		onPolicy(bearerCase("customer on roles-only method", customer, codes.PermissionDenied, "POLICY_DENIED"), &auth.Policy{Roles: []string{"admin"}}),
		onPolicy(bearerCase("admin client on roles-only method", adminClient, codes.PermissionDenied, "POLICY_DENIED"), &auth.Policy{Roles: []string{"admin"}}),
		onPolicy(bearerCase("user on services-only method", admin, codes.PermissionDenied, "POLICY_DENIED"), &auth.Policy{Services: []string{"order"}}),
		bearerCase("customer on authenticated method", customer, codes.OK, ""),
		onPolicy(bearerCase("customer on public method", customer, codes.OK, ""), public),
		// A method without a policy admits nobody.
		onPolicy(bearerCase("admin on a method without policy", admin, codes.PermissionDenied, "POLICY_DENIED"), &auth.Policy{}),
	})
	_, err := e.authenticator().Authorize(bearer(t, customer), method, adminOnly)
	if got := details(err).Metadata["method"]; got != method {
		t.Errorf("Authorize(customer, admin) metadata method = %q, want %q", got, method)
	}
}

// TestAuthorizeAttachesPrincipal: the handler's context carries the
// principal and ends when the token does (exp + leeway by the clock).
func TestAuthorizeAttachesPrincipal(t *testing.T) {
	t.Parallel()
	e := newKeyEnv()
	c := userClaims(t0, "u1", "customer")
	ctx, err := e.authenticator().Authorize(bearer(t, sign(t, e.k1, c)), method, authenticated)
	if err != nil {
		t.Fatalf("Authorize() = %v", err)
	}
	want := &auth.Principal{Kind: auth.User, Subject: "u1", Roles: []string{"customer"}, Expiry: c.ExpiresAt.Time}
	if diff := cmp.Diff(want, auth.PrincipalFrom(ctx)); diff != "" {
		t.Errorf("PrincipalFrom() mismatch (-want +got):\n%s", diff)
	}
	deadline, ok := ctx.Deadline()
	wantDeadline := time.Now().Add(c.ExpiresAt.Sub(t0) + auth.DefaultLeeway)
	if !ok || deadline.After(wantDeadline) || deadline.Before(wantDeadline.Add(-time.Minute)) {
		t.Errorf("ctx.Deadline() = %v, %v; want about %v (15m30s from now)", deadline, ok, wantDeadline)
	}
	// A call with a later deadline of its own is bounded by the token too.
	parent, cancel := context.WithTimeout(bearer(t, sign(t, e.k1, c)), time.Hour)
	defer cancel()
	ctx, err = e.authenticator().Authorize(parent, method, authenticated)
	latest := time.Now().Add(c.ExpiresAt.Sub(t0) + auth.DefaultLeeway)
	if d, _ := ctx.Deadline(); err != nil || d.After(latest) {
		t.Errorf("Authorize(1h deadline) = deadline %v, %v; want at most %v", d, err, latest)
	}
}

// TestCallBoundByTokenExpiry: the call's context ends when the token
// stops verifying, with an UNAUTHENTICATED TOKEN_EXPIRED cause, unless the
// call's own deadline comes first.
func TestCallBoundByTokenExpiry(t *testing.T) {
	t.Parallel()
	e := newKeyEnv()
	c := userClaims(t0, "u1")
	token := sign(t, e.k1, c)
	// The clock says 50 ms are left before exp; no leeway.
	now := func() time.Time { return c.ExpiresAt.Add(-50 * time.Millisecond) }
	a := auth.NewAuthenticator(auth.WithKeySet(e.keys), auth.WithClock(now), auth.WithLeeway(0))

	ctx, err := a.Authorize(bearer(t, token), method, authenticated)
	if err != nil {
		t.Fatalf("Authorize() = %v", err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the call's context outlived its token")
	}
	wantCode(t, "context.Cause(ctx) at expiry", context.Cause(ctx), codes.Unauthenticated, "TOKEN_EXPIRED")

	// A call whose deadline comes first keeps its own deadline and cause.
	parent, cancel := context.WithTimeout(bearer(t, token), 10*time.Millisecond)
	defer cancel()
	want, _ := parent.Deadline()
	ctx, err = a.Authorize(parent, method, authenticated)
	if err != nil {
		t.Fatalf("Authorize() = %v", err)
	}
	if got, _ := ctx.Deadline(); !got.Equal(want) {
		t.Errorf("ctx.Deadline() = %v, want the call's own %v", got, want)
	}
	<-ctx.Done()
	if cause := context.Cause(ctx); !errors.Is(cause, context.DeadlineExceeded) {
		t.Errorf("context.Cause(ctx) = %v, want DeadlineExceeded", cause)
	}
}
