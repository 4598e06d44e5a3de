package errs

import "google.golang.org/grpc/codes"

// Kind classifies an error by what the caller can do about it. Each Kind maps
// to exactly one gRPC code (see Code).
type Kind uint8

// The kinds. Internal is the zero value: an error nobody classified is an
// internal error.
const (
	Internal           Kind = iota // a bug or broken invariant; never retried, never explained to the client
	InvalidArgument                // the request is wrong whatever the system's state
	NotFound                       // the resource does not exist, or the caller may not know it does
	AlreadyExists                  // a create collided with an existing resource
	PermissionDenied               // authenticated, but not allowed
	Unauthenticated                // no valid credentials
	FailedPrecondition             // the system is not in a state that allows the call
	Aborted                        // a concurrency conflict; retry the whole read-modify-write
	OutOfRange                     // a value past the valid range (an overflow, a page past the end)
	ResourceExhausted              // a quota, rate limit or size cap was hit
	Unavailable                    // transient: retry with backoff
	DeadlineExceeded               // the deadline passed before the work finished
	Canceled                       // the caller went away
	DataLoss                       // unrecoverable data loss or corruption (a checksum mismatch)
	Unimplemented                  // the method or option is not supported
)

// kindTable is the one table from kind to gRPC code and default reason.
var kindTable = [...]struct {
	code   codes.Code
	reason string
}{
	Internal:           {codes.Internal, "INTERNAL"},
	InvalidArgument:    {codes.InvalidArgument, "INVALID_ARGUMENT"},
	NotFound:           {codes.NotFound, "NOT_FOUND"},
	AlreadyExists:      {codes.AlreadyExists, "ALREADY_EXISTS"},
	PermissionDenied:   {codes.PermissionDenied, "PERMISSION_DENIED"},
	Unauthenticated:    {codes.Unauthenticated, "UNAUTHENTICATED"},
	FailedPrecondition: {codes.FailedPrecondition, "FAILED_PRECONDITION"},
	Aborted:            {codes.Aborted, "ABORTED"},
	OutOfRange:         {codes.OutOfRange, "OUT_OF_RANGE"},
	ResourceExhausted:  {codes.ResourceExhausted, "RESOURCE_EXHAUSTED"},
	Unavailable:        {codes.Unavailable, "UNAVAILABLE"},
	DeadlineExceeded:   {codes.DeadlineExceeded, "DEADLINE_EXCEEDED"},
	Canceled:           {codes.Canceled, "CANCELED"},
	DataLoss:           {codes.DataLoss, "DATA_LOSS"},
	Unimplemented:      {codes.Unimplemented, "UNIMPLEMENTED"},
}

// Code returns the gRPC code of k. An unknown kind is Internal.
func (k Kind) Code() codes.Code {
	if int(k) >= len(kindTable) {
		return codes.Internal
	}
	return kindTable[k].code
}

// defaultReason is the ErrorInfo reason used when an error names none.
func (k Kind) defaultReason() string {
	if int(k) >= len(kindTable) {
		return kindTable[Internal].reason
	}
	return kindTable[k].reason
}

// String returns the kind's gRPC code name, e.g. "InvalidArgument".
func (k Kind) String() string { return k.Code().String() }

// KindOf returns the kind for a gRPC code; codes.OK and unknown codes map to
// Internal.
func KindOf(c codes.Code) Kind {
	for k, e := range kindTable {
		if e.code == c {
			return Kind(k)
		}
	}
	return Internal
}
