package errs

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"
)

// ToStatus converts any error into the status a client receives:
//   - nil is nil;
//   - an *Error anywhere in the chain maps through the kind table and
//     carries ErrorInfo plus its other details; an Internal one reaches the
//     client as the bare InternalMessage;
//   - an error that already is a gRPC status (from a downstream call or an
//     interceptor) keeps its code and details, gaining an ErrorInfo if it had
//     none; an INTERNAL or UNKNOWN one is masked like any internal error;
//   - context.Canceled and context.DeadlineExceeded become CANCELED and
//     DEADLINE_EXCEEDED;
//   - anything else is INTERNAL "internal error".
func ToStatus(err error) *status.Status {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e.status()
	}
	if s, ok := status.FromError(err); ok {
		return passThrough(s)
	}
	switch {
	case errors.Is(err, context.Canceled):
		return New(Canceled, "", "the call was canceled").status()
	case errors.Is(err, context.DeadlineExceeded):
		return New(DeadlineExceeded, "", "the deadline passed before the work finished").status()
	}
	return New(Internal, "", "").status()
}

func (e *Error) status() *status.Status {
	code := e.Kind.Code()
	msg := e.Message
	reason := e.Reason
	md := e.Metadata
	if code == codes.Internal || code == codes.Unknown {
		msg, reason, md = InternalMessage, kindTable[Internal].reason, nil
	}
	s := status.New(code, msg)
	details := make([]protoadapt.MessageV1, 0, 2)
	details = append(details, &errdetails.ErrorInfo{Reason: reason, Domain: Domain, Metadata: md})
	if code != codes.Internal {
		if len(e.fields) > 0 {
			details = append(details, &errdetails.BadRequest{FieldViolations: e.fields})
		}
		if len(e.precondition) > 0 {
			details = append(details, &errdetails.PreconditionFailure{Violations: e.precondition})
		}
		if len(e.quota) > 0 {
			details = append(details, &errdetails.QuotaFailure{Violations: e.quota})
		}
		if e.retryAfter > 0 {
			details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(e.retryAfter)})
		}
		if e.resource != nil {
			details = append(details, e.resource)
		}
	}
	ws, err := s.WithDetails(details...)
	if err != nil { // only on a marshalling bug; the bare status is still right
		return s
	}
	return ws
}

func passThrough(s *status.Status) *status.Status {
	if s.Code() == codes.Internal || s.Code() == codes.Unknown {
		return New(Internal, "", "").status()
	}
	for _, d := range s.Details() {
		if _, ok := d.(*errdetails.ErrorInfo); ok {
			return s
		}
	}
	ws, err := s.WithDetails(&errdetails.ErrorInfo{Reason: KindOf(s.Code()).defaultReason(), Domain: Domain})
	if err != nil {
		return s
	}
	return ws
}

// Details is what a client can read back from a Bazaar error status.
type Details struct {
	Code     codes.Code
	Message  string
	Reason   string
	Domain   string
	Metadata map[string]string

	FieldViolations []FieldViolation
	Preconditions   []*errdetails.PreconditionFailure_Violation
	Quota           []*errdetails.QuotaFailure_Violation
	RetryDelay      time.Duration // zero when the status has no RetryInfo
	Resource        *errdetails.ResourceInfo
}

// FromError reads the code, message and google.rpc details of err (as
// returned by a gRPC call). A non-status error reads as codes.Unknown; nil
// reads as codes.OK.
func FromError(err error) Details {
	s, _ := status.FromError(err)
	d := Details{Code: s.Code(), Message: s.Message()}
	for _, a := range s.Proto().GetDetails() {
		m, err := a.UnmarshalNew()
		if err != nil {
			continue
		}
		d.add(m)
	}
	return d
}

func (d *Details) add(m proto.Message) {
	switch v := m.(type) {
	case *errdetails.ErrorInfo:
		d.Reason, d.Domain, d.Metadata = v.GetReason(), v.GetDomain(), v.GetMetadata()
	case *errdetails.BadRequest:
		for _, f := range v.GetFieldViolations() {
			d.FieldViolations = append(d.FieldViolations, FieldViolation{Field: f.GetField(), Description: f.GetDescription()})
		}
	case *errdetails.PreconditionFailure:
		d.Preconditions = append(d.Preconditions, v.GetViolations()...)
	case *errdetails.QuotaFailure:
		d.Quota = append(d.Quota, v.GetViolations()...)
	case *errdetails.RetryInfo:
		d.RetryDelay = v.GetRetryDelay().AsDuration()
	case *errdetails.ResourceInfo:
		d.Resource = v
	}
}

// Reason returns the ErrorInfo reason of err, or "" if it has none.
func Reason(err error) string { return FromError(err).Reason }

// WithRequestID returns s with metadata["request_id"] = id in its
// ErrorInfo, so a client can quote the id of a failed call to support.
// A status without ErrorInfo, or an empty id, is returned unchanged.
func WithRequestID(s *status.Status, id string) *status.Status {
	if id == "" || s == nil {
		return s
	}
	p := s.Proto() // a copy
	for _, a := range p.GetDetails() {
		var info errdetails.ErrorInfo
		if a.MessageIs(&info) && a.UnmarshalTo(&info) == nil {
			if info.Metadata == nil {
				info.Metadata = make(map[string]string, 1)
			}
			info.Metadata["request_id"] = id
			if b, err := proto.Marshal(&info); err == nil {
				a.Value = b
			}
			return status.FromProto(p)
		}
	}
	return s
}

// String describes the details for a person: the code and message, then
// each google.rpc detail on its own indented line. Command-line clients
// print it.
func (d Details) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", d.Code, d.Message)
	if d.Reason != "" {
		fmt.Fprintf(&b, "\n  reason: %s (%s)", d.Reason, d.Domain)
	}
	for _, k := range slices.Sorted(maps.Keys(d.Metadata)) {
		fmt.Fprintf(&b, "\n  %s: %s", k, d.Metadata[k])
	}
	for _, v := range d.FieldViolations {
		fmt.Fprintf(&b, "\n  field %s: %s", v.Field, v.Description)
	}
	for _, p := range d.Preconditions {
		fmt.Fprintf(&b, "\n  precondition %s %s: %s", p.GetType(), p.GetSubject(), p.GetDescription())
	}
	for _, q := range d.Quota {
		fmt.Fprintf(&b, "\n  quota %s: %s", q.GetSubject(), q.GetDescription())
	}
	if d.RetryDelay > 0 {
		fmt.Fprintf(&b, "\n  retry after: %v", d.RetryDelay)
	}
	if r := d.Resource; r != nil {
		fmt.Fprintf(&b, "\n  resource: %s %s %s", r.GetResourceType(), r.GetResourceName(), r.GetDescription())
	}
	return b.String()
}
