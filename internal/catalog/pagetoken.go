package catalog

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
)

// A page token is base64url(version | binding | cursor | check): the
// version byte 1; the first 8 bytes of a SHA-256 of the listing's canonical
// filters and order (or search words), which binds the token to them; the
// cursor as JSON; and the first 8 bytes of a SHA-256 over the rest. The
// check is not a MAC: a cursor only positions a listing whose every row
// the caller may see anyway, so a forged one gains nothing. It makes the
// token opaque in practice (AIP-158): an altered, truncated or foreign
// token, or one sent with other filters, is refused rather than silently
// listing from somewhere else.
const (
	pageTokenVersion = 1
	pageTokenBinding = 8
	pageTokenCheck   = 8
	maxPageToken     = 1024
)

var pageTokenDomain = []byte("bazaar.catalog.v1.page\x00")

func pageTokenSum(payload []byte) []byte {
	h := sha256.New()
	h.Write(pageTokenDomain)
	h.Write(payload)
	return h.Sum(nil)[:pageTokenCheck]
}

// binding is the first bytes of a SHA-256 of a listing's canonical form.
func binding(canonical string) []byte {
	sum := sha256.Sum256([]byte(canonical))
	return sum[:pageTokenBinding]
}

// encodePageToken encodes cursor (a JSON-encodable struct) for the listing
// with the given canonical form.
func encodePageToken(canonical string, cursor any) string {
	c, err := json.Marshal(cursor)
	if err != nil {
		panic("catalog: encoding page token: " + err.Error())
	}
	b := make([]byte, 0, 1+pageTokenBinding+len(c)+pageTokenCheck)
	b = append(b, pageTokenVersion)
	b = append(b, binding(canonical)...)
	b = append(b, c...)
	b = append(b, pageTokenSum(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodePageToken decodes a token of the listing with the given canonical
// form into cursor, or returns INVALID_ARGUMENT PAGE_TOKEN_INVALID.
func decodePageToken(token, canonical string, cursor any) error {
	bad := invalidField(ReasonPageTokenInvalid, "page_token", "is not a page token of this listing")
	if len(token) > maxPageToken {
		return bad
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < 1+pageTokenBinding+2+pageTokenCheck {
		return bad
	}
	payload, sum := b[:len(b)-pageTokenCheck], b[len(b)-pageTokenCheck:]
	if !bytes.Equal(pageTokenSum(payload), sum) || payload[0] != pageTokenVersion ||
		!bytes.Equal(payload[1:1+pageTokenBinding], binding(canonical)) {
		return bad
	}
	dec := json.NewDecoder(bytes.NewReader(payload[1+pageTokenBinding:]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cursor); err != nil {
		return bad
	}
	return nil
}
