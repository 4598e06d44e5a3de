package identity

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// Argon2Params are the cost parameters of an argon2id password hash.
type Argon2Params struct {
	// Memory is the memory cost in KiB (at least 8 per lane).
	Memory uint32
	// Iterations is the time cost (passes over the memory).
	Iterations uint32
	// Parallelism is the number of lanes.
	Parallelism uint8
	// SaltLength is the length of the random salt in bytes (at least 8).
	SaltLength uint32
	// KeyLength is the length of the derived key in bytes (16 to 64).
	KeyLength uint32
}

// DefaultArgon2Params is the OWASP Password Storage Cheat Sheet minimum for
// argon2id: 19 MiB, 2 iterations, 1 lane, with a 16-byte salt and a 32-byte
// key.
var DefaultArgon2Params = Argon2Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// Limits on parameters read back from a stored hash, so that a corrupted or
// tampered row cannot make one login allocate gigabytes or spin for
// minutes.
const (
	maxArgon2Memory     = 1 << 20 // 1 GiB
	maxArgon2Iterations = 64
)

func (p Argon2Params) validate() error {
	switch {
	case p.Parallelism < 1:
		return fmt.Errorf("argon2 parallelism %d: want at least 1", p.Parallelism)
	case p.Memory < 8*uint32(p.Parallelism) || p.Memory > maxArgon2Memory:
		return fmt.Errorf("argon2 memory %d KiB: want %d to %d", p.Memory, 8*uint32(p.Parallelism), maxArgon2Memory)
	case p.Iterations < 1 || p.Iterations > maxArgon2Iterations:
		return fmt.Errorf("argon2 iterations %d: want 1 to %d", p.Iterations, maxArgon2Iterations)
	case p.SaltLength < 8 || p.SaltLength > 64:
		return fmt.Errorf("argon2 salt length %d: want 8 to 64", p.SaltLength)
	case p.KeyLength < 16 || p.KeyLength > 64:
		return fmt.Errorf("argon2 key length %d: want 16 to 64", p.KeyLength)
	}
	return nil
}

// weakerThan reports whether a hash made with p should be re-made with
// want: it is cheaper in memory or time, or its salt or key is shorter. A
// difference in lanes alone is not weakness.
func (p Argon2Params) weakerThan(want Argon2Params) bool {
	return p.Memory < want.Memory || p.Iterations < want.Iterations ||
		p.SaltLength < want.SaltLength || p.KeyLength < want.KeyLength
}

// PasswordHash is an argon2id hash in PHC string format. Its String method
// redacts it, so a User printed into a log does not carry it.
type PasswordHash string

// String returns a redacted placeholder.
func (PasswordHash) String() string { return "[argon2id hash]" }

// phc is the standard base64 alphabet without padding, as the PHC string
// format and the argon2 reference implementation use.
var phc = base64.RawStdEncoding

// HashPassword hashes password with argon2id under params, with a fresh salt
// read from random, and returns the PHC string
// "$argon2id$v=19$m=<KiB>,t=<iterations>,p=<lanes>$<salt>$<key>".
func HashPassword(password string, params Argon2Params, random io.Reader) (PasswordHash, error) {
	if err := params.validate(); err != nil {
		return "", err
	}
	salt := make([]byte, params.SaltLength)
	if _, err := io.ReadFull(random, salt); err != nil {
		return "", fmt.Errorf("identity: password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, params.Iterations, params.Memory, params.Parallelism, params.KeyLength)
	return PasswordHash(fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		params.Memory, params.Iterations, params.Parallelism, phc.EncodeToString(salt), phc.EncodeToString(key))), nil
}

// errMalformedHash is wrapped by ParsePasswordHash errors.
var errMalformedHash = errors.New("malformed argon2id hash")

// ParsePasswordHash splits a PHC string made by HashPassword into its
// parameters, salt and key. It refuses other algorithms and versions and
// parameters outside the limits HashPassword accepts.
func ParsePasswordHash(h PasswordHash) (params Argon2Params, salt, key []byte, err error) {
	fail := func(why string) (Argon2Params, []byte, []byte, error) {
		return Argon2Params{}, nil, nil, fmt.Errorf("identity: %w: %s", errMalformedHash, why)
	}
	parts := strings.Split(string(h), "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return fail("want $argon2id$v=..$m=..,t=..,p=..$salt$key")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return fail("unsupported version " + parts[2])
	}
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return fail("parameters " + parts[3])
	}
	var values [3]uint64 // m, t, p in this order, as HashPassword writes them
	for i, name := range [...]string{"m", "t", "p"} {
		value, ok := strings.CutPrefix(fields[i], name+"=")
		bits := 32
		if name == "p" {
			bits = 8
		}
		n, perr := strconv.ParseUint(value, 10, bits)
		if !ok || perr != nil {
			return fail("parameter " + fields[i])
		}
		values[i] = n
	}
	m, t, p := values[0], values[1], values[2]
	salt, serr := phc.DecodeString(parts[4])
	key, kerr := phc.DecodeString(parts[5])
	if serr != nil || kerr != nil {
		return fail("salt or key is not base64")
	}
	params = Argon2Params{
		Memory: uint32(m), Iterations: uint32(t), Parallelism: uint8(p),
		SaltLength: uint32(len(salt)), KeyLength: uint32(len(key)),
	}
	if verr := params.validate(); verr != nil {
		return fail(verr.Error())
	}
	return params, salt, key, nil
}

// VerifyPassword reports whether password matches h, using the parameters
// stored in h, with a constant-time comparison. It also returns those
// parameters (for re-hash decisions). An error means h is malformed.
func VerifyPassword(h PasswordHash, password string) (bool, Argon2Params, error) {
	params, salt, key, err := ParsePasswordHash(h)
	if err != nil {
		return false, Argon2Params{}, err
	}
	got := argon2.IDKey([]byte(password), salt, params.Iterations, params.Memory, params.Parallelism, params.KeyLength)
	return subtle.ConstantTimeCompare(got, key) == 1, params, nil
}

// Password length limits, in characters (Unicode code points, as the API's
// validation counts them).
const (
	MinPasswordLength = 12
	MaxPasswordLength = 128
)

// CheckPassword enforces the password policy: valid UTF-8, 12 to 128
// characters, and not all of one character class (lower-case letters,
// upper-case letters, digits, everything else). It returns an
// INVALID_ARGUMENT WEAK_PASSWORD error naming field.
func CheckPassword(field, password string) error {
	bad := func(why string) error {
		return errs.BadRequest(ReasonWeakPassword, errs.FieldViolation{Field: field, Description: why})
	}
	if !utf8.ValidString(password) {
		return bad("must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(password); n < MinPasswordLength || n > MaxPasswordLength {
		return bad(fmt.Sprintf("must be %d to %d characters long", MinPasswordLength, MaxPasswordLength))
	}
	var lower, upper, digit, other bool
	for _, r := range password {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	classes := 0
	for _, has := range [...]bool{lower, upper, digit, other} {
		if has {
			classes++
		}
	}
	if classes < 2 {
		return bad("must mix at least two kinds of character (lower case, upper case, digits, symbols)")
	}
	return nil
}
