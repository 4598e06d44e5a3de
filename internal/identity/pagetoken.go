package identity

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
	"unicode/utf8"
)

// A ListUsers page token is base64url(version | create time | id | check):
// the version byte 1, the last user's create time in Unix nanoseconds
// (8 bytes, big-endian), its id, and the first 8 bytes of a SHA-256 over
// the rest. The check is not a MAC: the cursor only positions a listing
// whose every row the caller may see anyway, so a forged cursor gains
// nothing. It makes the token opaque in practice (AIP-158): an altered,
// truncated or foreign token is refused, rather than silently listing from
// somewhere else, and clients cannot come to depend on the layout.
const (
	pageTokenVersion = 1
	pageTokenCheck   = 8
	maxPageTokenID   = 64
)

var pageTokenDomain = []byte("bazaar.identity.v1.ListUsers\x00")

func pageTokenSum(payload []byte) []byte {
	h := sha256.New()
	h.Write(pageTokenDomain)
	h.Write(payload)
	return h.Sum(nil)[:pageTokenCheck]
}

func encodePageToken(c UserCursor) string {
	b := make([]byte, 0, 1+8+len(c.ID)+pageTokenCheck)
	b = append(b, pageTokenVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(c.CreateTime.UnixNano()))
	b = append(b, c.ID...)
	b = append(b, pageTokenSum(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(token string) (UserCursor, error) {
	bad := invalidField(ReasonPageTokenInvalid, "page_token", "is not a page token of this listing")
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < 1+8+1+pageTokenCheck || len(b) > 1+8+maxPageTokenID+pageTokenCheck {
		return UserCursor{}, bad
	}
	payload, sum := b[:len(b)-pageTokenCheck], b[len(b)-pageTokenCheck:]
	if !bytes.Equal(pageTokenSum(payload), sum) || payload[0] != pageTokenVersion {
		return UserCursor{}, bad
	}
	id := string(payload[9:])
	if !utf8.ValidString(id) {
		return UserCursor{}, bad
	}
	nanos := int64(binary.BigEndian.Uint64(payload[1:9]))
	return UserCursor{CreateTime: time.Unix(0, nanos).UTC(), ID: id}, nil
}
