package errs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
)

// Domain is the ErrorInfo domain of every Bazaar error.
const Domain = "bazaar.dev"

// InternalMessage is all a client ever learns about an internal error.
const InternalMessage = "internal error"

// Error is a classified error: a Kind, a machine-readable Reason
// (UPPER_SNAKE_CASE, stable, for ErrorInfo), a human-readable Message, an
// optional wrapped cause and google.rpc details. Read it with errors.As.
type Error struct {
	Kind     Kind
	Reason   string
	Message  string
	Metadata map[string]string

	cause        error
	fields       []*errdetails.BadRequest_FieldViolation
	precondition []*errdetails.PreconditionFailure_Violation
	quota        []*errdetails.QuotaFailure_Violation
	retryAfter   time.Duration
	resource     *errdetails.ResourceInfo
}

// New returns an error of kind k with the given reason and message. An
// empty reason is replaced by the kind's default (e.g. "NOT_FOUND").
func New(k Kind, reason, message string, opts ...Option) *Error {
	if reason == "" {
		reason = k.defaultReason()
	}
	e := &Error{Kind: k, Reason: reason, Message: message}
	for _, o := range opts {
		o.apply(e)
	}
	return e
}

// Newf is New with a formatted message.
func Newf(k Kind, reason, format string, args ...any) *Error {
	return New(k, reason, fmt.Sprintf(format, args...))
}

// Wrap classifies cause as kind k. The cause is kept for logs and errors.Is,
// never sent to clients of internal errors.
func Wrap(cause error, k Kind, reason, message string, opts ...Option) *Error {
	e := New(k, reason, message, opts...)
	e.cause = cause
	return e
}

// Error implements error: "REASON: message: cause".
func (e *Error) Error() string {
	s := e.Reason
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

// Unwrap returns the wrapped cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is an *Error of the same kind and reason, so
// sentinel *Error values work with errors.Is.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Kind == e.Kind && t.Reason == e.Reason
}

// KindOfError returns the kind of err: the Kind of the first *Error in its
// chain, Canceled/DeadlineExceeded for context errors, else Internal.
func KindOfError(err error) Kind {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Kind
	case errors.Is(err, context.Canceled):
		return Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return DeadlineExceeded
	}
	return Internal
}

// Option adds detail to an *Error. Every option is optional; none is set by
// default.
type Option interface{ apply(*Error) }

type optionFunc func(*Error)

func (f optionFunc) apply(e *Error) { f(e) }

// WithCause wraps cause (for logs and errors.Is; never shown for internal
// errors).
func WithCause(cause error) Option { return optionFunc(func(e *Error) { e.cause = cause }) }

// WithMetadata adds a key/value pair to the ErrorInfo metadata.
func WithMetadata(key, value string) Option {
	return optionFunc(func(e *Error) {
		if e.Metadata == nil {
			e.Metadata = make(map[string]string, 1)
		}
		e.Metadata[key] = value
	})
}

// WithFieldViolation adds a google.rpc.BadRequest field violation. field is
// a path like "items[0].quantity".
func WithFieldViolation(field, description string) Option {
	return optionFunc(func(e *Error) {
		e.fields = append(e.fields, &errdetails.BadRequest_FieldViolation{Field: field, Description: description})
	})
}

// WithPrecondition adds a google.rpc.PreconditionFailure violation: typ is
// a short type ("STOCK", "TOS"), subject what failed, description why.
func WithPrecondition(typ, subject, description string) Option {
	return optionFunc(func(e *Error) {
		e.precondition = append(e.precondition, &errdetails.PreconditionFailure_Violation{
			Type: typ, Subject: subject, Description: description,
		})
	})
}

// WithQuotaViolation adds a google.rpc.QuotaFailure violation.
func WithQuotaViolation(subject, description string) Option {
	return optionFunc(func(e *Error) {
		e.quota = append(e.quota, &errdetails.QuotaFailure_Violation{Subject: subject, Description: description})
	})
}

// WithRetryAfter adds a google.rpc.RetryInfo telling the client when to
// retry.
func WithRetryAfter(d time.Duration) Option {
	return optionFunc(func(e *Error) { e.retryAfter = d })
}

// WithResource adds a google.rpc.ResourceInfo naming the resource involved.
func WithResource(resourceType, name, description string) Option {
	return optionFunc(func(e *Error) {
		e.resource = &errdetails.ResourceInfo{ResourceType: resourceType, ResourceName: name, Description: description}
	})
}
