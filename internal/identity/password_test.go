package identity_test

import (
	"crypto/rand"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/bazaarhq/bazaar/internal/identity"
)

func TestHashPasswordWritesPHCWithItsParameters(t *testing.T) {
	t.Parallel()
	for _, params := range []identity.Argon2Params{
		tinyArgon2,
		{Memory: 256, Iterations: 3, Parallelism: 2, SaltLength: 24, KeyLength: 48},
	} {
		h, err := identity.HashPassword(strongPassword, params, rand.Reader)
		if err != nil {
			t.Fatalf("HashPassword(%+v) = %v", params, err)
		}
		wantPrefix := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$", params.Memory, params.Iterations, params.Parallelism)
		if !strings.HasPrefix(string(h), wantPrefix) {
			t.Errorf("HashPassword(%+v) = %s, want prefix %s", params, h, wantPrefix)
		}
		got, salt, key, err := identity.ParsePasswordHash(h)
		if err != nil {
			t.Fatalf("ParsePasswordHash(%s) = %v", h, err)
		}
		if got != params || len(salt) != int(params.SaltLength) || len(key) != int(params.KeyLength) {
			t.Errorf("ParsePasswordHash(%s) = %+v, salt %d bytes, key %d bytes; want %+v", h, got, len(salt), len(key), params)
		}
		for pw, want := range map[string]bool{strongPassword: true, strongPassword + "x": false, "": false} {
			ok, read, err := identity.VerifyPassword(h, pw)
			if err != nil || ok != want || read != params {
				t.Errorf("VerifyPassword(%q) = %v, %+v, %v; want %v, %+v, nil", pw, ok, read, err, want, params)
			}
		}
	}
}

func TestDefaultArgon2ParamsAreOWASPMinimum(t *testing.T) {
	t.Parallel()
	want := identity.Argon2Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	if identity.DefaultArgon2Params != want {
		t.Errorf("DefaultArgon2Params = %+v, want %+v", identity.DefaultArgon2Params, want)
	}
}

func TestHashPasswordSaltsEachHash(t *testing.T) {
	t.Parallel()
	a, _ := identity.HashPassword(strongPassword, tinyArgon2, rand.Reader)
	b, _ := identity.HashPassword(strongPassword, tinyArgon2, rand.Reader)
	if a == b {
		t.Errorf("two hashes of one password are equal: %s", a)
	}
	if fmt.Sprint(a) == string(a) || strings.Contains(fmt.Sprintf("%v", identity.User{PasswordHash: a}), "argon2id$") {
		t.Errorf("a PasswordHash prints itself: %v", a)
	}
}

func TestParsePasswordHashRefusesMalformed(t *testing.T) {
	t.Parallel()
	good, err := identity.HashPassword(strongPassword, tinyArgon2, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(string(good), "$") // "", alg, v, params, salt, key
	with := func(i int, v string) identity.PasswordHash {
		p := append([]string(nil), parts...)
		p[i] = v
		return identity.PasswordHash(strings.Join(p, "$"))
	}
	for name, h := range map[string]identity.PasswordHash{
		"empty":            "",
		"bcrypt":           "$2a$10$abcdefghijklmnopqrstuu5Zb1kA1tX5u8V9kQ0K3Y8Cz0dG9yY6e",
		"argon2i":          with(1, "argon2i"),
		"version 16":       with(2, "v=16"),
		"params reordered": with(3, "t=1,m=64,p=1"),
		"params missing":   with(3, "m=64,t=1"),
		"params extra":     with(3, "m=64,t=1,p=1,x=2"),
		"memory huge":      with(3, "m=4194304,t=1,p=1"),
		"iterations huge":  with(3, "m=64,t=1000,p=1"),
		"no lanes":         with(3, "m=64,t=1,p=0"),
		"salt not base64":  with(4, "!!!"),
		"short key":        with(5, "AAAA"),
		"trailing part":    good + "$x",
	} {
		if _, _, _, err := identity.ParsePasswordHash(h); err == nil {
			t.Errorf("ParsePasswordHash(%s: %s) = nil error, want one", name, h)
		}
		if ok, _, err := identity.VerifyPassword(h, strongPassword); ok || err == nil {
			t.Errorf("VerifyPassword(%s) = %v, %v; want false and an error", name, ok, err)
		}
	}
}

func TestHashPasswordRefusesBadParams(t *testing.T) {
	t.Parallel()
	for _, p := range []identity.Argon2Params{
		{},
		{Memory: 8, Iterations: 1, Parallelism: 2, SaltLength: 16, KeyLength: 32}, // < 8 KiB per lane
		{Memory: 64, Iterations: 0, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 4, KeyLength: 32},
		{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 8},
	} {
		if _, err := identity.HashPassword(strongPassword, p, rand.Reader); err == nil {
			t.Errorf("HashPassword(%+v) = nil error, want one", p)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		password string
		ok       bool
	}{
		{"abcdefghijk1", true},                 // 12, two classes
		{"abcdefghij1", false},                 // 11
		{"abcdefghijkl", false},                // one class: lower
		{"ABCDEFGHIJKL", false},                // one class: upper
		{"123456789012", false},                // one class: digits
		{"!@#$%^&*()_+", false},                // one class: symbols
		{"correct horse battery staple", true}, // lower and spaces
		{"ÄÖÜäöüßéèêëï", true},                 // 12 characters (24 bytes), two classes
		{"äöüäöüäöüäö", false},                 // 11 characters, 22 bytes
		{strings.Repeat("aB", 64), true},       // 128
		{strings.Repeat("aB", 64) + "c", false},
		{"abcdefghijk\xff", false}, // not UTF-8
	} {
		err := identity.CheckPassword("password", tc.password)
		if tc.ok {
			if err != nil {
				t.Errorf("CheckPassword(%q) = %v, want nil", tc.password, err)
			}
			continue
		}
		wantErr(t, fmt.Sprintf("CheckPassword(%q)", tc.password), err, codes.InvalidArgument, identity.ReasonWeakPassword, "password")
	}
}
