// Package pagetoken makes the opaque, tamper-evident page tokens of
// AIP-158 list methods, one scheme for every service.
//
// A token is base64url(version | binding | cursor | check): the version byte
// 1; the first 8 bytes of a SHA-256 of the listing's canonical form (its
// filters and order, or its search words), which binds the token to them;
// the cursor as JSON; and the first 8 bytes of a SHA-256 over the API's
// domain and the rest. The check is not a MAC: a cursor only positions a
// listing whose every row the caller may see anyway, so a forged one gains
// nothing. It makes the token opaque in practice: an altered, truncated or
// foreign token, or one sent with other filters, is refused rather than
// silently listing from somewhere else, and clients cannot come to depend on
// the layout.
package pagetoken

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"

	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// Reason is the ErrorInfo reason of a refused token (INVALID_ARGUMENT, with
// a BadRequest violation on field "page_token").
const Reason = "PAGE_TOKEN_INVALID"

const (
	version  = 1
	bindLen  = 8
	checkLen = 8
	// MaxLen bounds an accepted token.
	MaxLen = 1024
)

// Codec encodes and decodes the page tokens of one API.
type Codec struct{ domain []byte }

// New returns the codec of the API named domain (for example
// "bazaar.catalog.v1"): tokens of one API never decode in another.
func New(domain string) Codec { return Codec{domain: []byte(domain + "\x00")} }

func (c Codec) check(payload []byte) []byte {
	h := sha256.New()
	h.Write(c.domain)
	h.Write(payload)
	return h.Sum(nil)[:checkLen]
}

func binding(listing string) []byte {
	sum := sha256.Sum256([]byte(listing))
	return sum[:bindLen]
}

// Encode returns the token of cursor (a JSON-encodable struct) in the
// listing whose canonical form is listing. It panics if cursor does not
// encode, which is a bug in the caller.
func (c Codec) Encode(listing string, cursor any) string {
	j, err := json.Marshal(cursor)
	if err != nil {
		panic("pagetoken: encoding a cursor: " + err.Error())
	}
	b := make([]byte, 0, 1+bindLen+len(j)+checkLen)
	b = append(b, version)
	b = append(b, binding(listing)...)
	b = append(b, j...)
	b = append(b, c.check(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode decodes token into cursor. Any token that Encode did not make for
// this API and listing (or that carries fields cursor lacks) is an
// INVALID_ARGUMENT *errs.Error with reason Reason.
func (c Codec) Decode(token, listing string, cursor any) error {
	bad := errs.BadRequest(Reason, errs.FieldViolation{Field: "page_token", Description: "is not a page token of this listing"})
	if len(token) > MaxLen {
		return bad
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < 1+bindLen+2+checkLen {
		return bad
	}
	payload, sum := b[:len(b)-checkLen], b[len(b)-checkLen:]
	if !bytes.Equal(c.check(payload), sum) || payload[0] != version ||
		!bytes.Equal(payload[1:1+bindLen], binding(listing)) {
		return bad
	}
	dec := json.NewDecoder(bytes.NewReader(payload[1+bindLen:]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cursor); err != nil {
		return bad
	}
	return nil
}
