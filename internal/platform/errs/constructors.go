package errs

import (
	"time"
)

// FieldViolation is one invalid field of a request.
type FieldViolation struct {
	Field       string
	Description string
}

// BadRequest returns an InvalidArgument error with a google.rpc.BadRequest
// listing the violations. The message names the first violation.
func BadRequest(reason string, violations ...FieldViolation) *Error {
	msg := "invalid request"
	if len(violations) > 0 {
		msg = violations[0].Field + ": " + violations[0].Description
	}
	e := New(InvalidArgument, reason, msg)
	for _, v := range violations {
		WithFieldViolation(v.Field, v.Description).apply(e)
	}
	return e
}

// ResourceNotFound returns a NotFound error with a google.rpc.ResourceInfo.
func ResourceNotFound(resourceType, name string) *Error {
	return New(NotFound, "", resourceType+" "+name+" not found", WithResource(resourceType, name, ""))
}

// RateLimited returns a ResourceExhausted error with RetryInfo and a
// QuotaFailure naming the exhausted quota.
func RateLimited(subject, description string, retryAfter time.Duration) *Error {
	return New(ResourceExhausted, "RATE_LIMITED", description,
		WithQuotaViolation(subject, description), WithRetryAfter(retryAfter))
}
