package standalone

import "github.com/bazaarhq/bazaar/internal/platform/errs"

// CallError is a failed call of a client program, described with
// everything its status holds. Read it with errors.As; Unwrap returns Err.
type CallError struct {
	// Call names the RPC that failed: "Divide".
	Call string
	// Err is what the call returned, usually a gRPC status error.
	Err error
}

// Unwrap returns the call's error.
func (e *CallError) Unwrap() error { return e.Err }

// Error describes the status: the call, then the code, the message and
// each google.rpc detail on its own line (errs.Details.String).
func (e *CallError) Error() string {
	return e.Call + " failed: " + errs.FromError(e.Err).String()
}
