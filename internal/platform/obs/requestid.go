package obs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

// RequestIDHeader is the gRPC metadata key (and HTTP header) that carries a
// request id across hops. Servers accept a caller's id of up to
// MaxRequestIDLen printable ASCII characters and otherwise mint one; clients
// forward the id found in their context.
const RequestIDHeader = "x-request-id"

// MaxRequestIDLen bounds an accepted request id, so a caller cannot make
// every log line carry a huge value.
const MaxRequestIDLen = 128

type requestIDKey struct{}

// WithRequestID returns a copy of ctx carrying id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id carried by ctx, or "" if there is none.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// NewRequestID returns a fresh random request id: 16 random bytes, hex
// encoded (32 characters).
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error.
	return hex.EncodeToString(b[:])
}

// ValidRequestID reports whether id is acceptable from a caller: 1 to
// MaxRequestIDLen characters of printable ASCII without spaces.
func ValidRequestID(id string) bool {
	if id == "" || len(id) > MaxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}
