package obs

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync/atomic"
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

// RequestIDs mints request ids: 32 hex characters, a random 64-bit prefix
// fixed per generator followed by a 64-bit counter. Ids are unique across
// processes (with overwhelming probability) and within one, and minting one
// costs an atomic add instead of a call into the kernel's random source.
// Request ids correlate logs; they are not secrets and need not be
// unpredictable. The zero value is not usable: call NewRequestIDs.
type RequestIDs struct {
	prefix [8]byte
	n      atomic.Uint64
}

// NewRequestIDs returns a generator with a fresh random prefix.
func NewRequestIDs() *RequestIDs {
	g := &RequestIDs{}
	_, _ = rand.Read(g.prefix[:]) // crypto/rand.Read never returns an error.
	return g
}

// Next returns a new id.
func (g *RequestIDs) Next() string {
	var b [16]byte
	copy(b[:8], g.prefix[:])
	binary.BigEndian.PutUint64(b[8:], g.n.Add(1))
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
