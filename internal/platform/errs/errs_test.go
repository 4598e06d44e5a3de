package errs_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

func TestToStatus(t *testing.T) {
	t.Parallel()
	cause := errors.New("pq: password authentication failed for user bazaar")
	for _, tc := range []struct {
		name       string
		err        error
		wantCode   codes.Code
		wantMsg    string
		wantReason string
	}{
		{"kind", errs.New(errs.NotFound, "PRODUCT_NOT_FOUND", "product p1 not found"), codes.NotFound, "product p1 not found", "PRODUCT_NOT_FOUND"},
		{"default reason", errs.New(errs.Aborted, "", "conflict"), codes.Aborted, "conflict", "ABORTED"},
		{"wrapped kind", fmt.Errorf("reserve: %w", errs.New(errs.FailedPrecondition, "OUT_OF_STOCK", "no stock")), codes.FailedPrecondition, "no stock", "OUT_OF_STOCK"},
		{"internal hides cause", errs.Wrap(cause, errs.Internal, "DB", "saving order"), codes.Internal, errs.InternalMessage, "INTERNAL"},
		{"plain error is internal", cause, codes.Internal, errs.InternalMessage, "INTERNAL"},
		{"canceled", fmt.Errorf("query: %w", context.Canceled), codes.Canceled, "the call was canceled", "CANCELED"},
		{"deadline", context.DeadlineExceeded, codes.DeadlineExceeded, "the deadline passed before the work finished", "DEADLINE_EXCEEDED"},
		{"downstream status kept", status.Error(codes.Unavailable, "catalog down"), codes.Unavailable, "catalog down", "UNAVAILABLE"},
		{"downstream internal masked", status.Error(codes.Internal, "stack trace here"), codes.Internal, errs.InternalMessage, "INTERNAL"},
		{"downstream unknown masked", status.Error(codes.Unknown, "panic"), codes.Internal, errs.InternalMessage, "INTERNAL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := errs.ToStatus(tc.err)
			d := errs.FromError(st.Err())
			if d.Code != tc.wantCode || d.Message != tc.wantMsg || d.Reason != tc.wantReason || d.Domain != errs.Domain {
				t.Errorf("ToStatus(%v) = %v %q reason %q domain %q, want %v %q reason %q domain %q",
					tc.err, d.Code, d.Message, d.Reason, d.Domain, tc.wantCode, tc.wantMsg, tc.wantReason, errs.Domain)
			}
		})
	}
	if errs.ToStatus(nil) != nil {
		t.Errorf("ToStatus(nil) != nil")
	}
}

func TestDetailsRoundTrip(t *testing.T) {
	t.Parallel()
	err := errs.New(errs.ResourceExhausted, "RATE_LIMITED", "slow down",
		errs.WithQuotaViolation("user:u1", "10 calls per second"),
		errs.WithRetryAfter(1500*time.Millisecond),
		errs.WithMetadata("limit", "10"),
		errs.WithPrecondition("STOCK", "sku-1", "only 2 left"),
		errs.WithResource("product", "p1", "being edited"),
		errs.WithFieldViolation("items[0].quantity", "must be positive"),
	)
	d := errs.FromError(errs.ToStatus(err).Err())
	if d.RetryDelay != 1500*time.Millisecond {
		t.Errorf("RetryDelay = %v, want 1.5s", d.RetryDelay)
	}
	if len(d.Quota) != 1 || d.Quota[0].GetSubject() != "user:u1" {
		t.Errorf("Quota = %v, want one violation for user:u1", d.Quota)
	}
	if d.Metadata["limit"] != "10" {
		t.Errorf("Metadata = %v, want limit=10", d.Metadata)
	}
	if len(d.Preconditions) != 1 || d.Preconditions[0].GetType() != "STOCK" {
		t.Errorf("Preconditions = %v", d.Preconditions)
	}
	if d.Resource.GetResourceName() != "p1" {
		t.Errorf("Resource = %v", d.Resource)
	}
	if len(d.FieldViolations) != 1 || d.FieldViolations[0].Field != "items[0].quantity" {
		t.Errorf("FieldViolations = %v", d.FieldViolations)
	}
	// An internal error shows none of its details.
	in := errs.FromError(errs.ToStatus(errs.New(errs.Internal, "SECRET_REASON", "secret", errs.WithMetadata("k", "secret"))).Err())
	if in.Reason != "INTERNAL" || len(in.Metadata) != 0 || in.Message != errs.InternalMessage {
		t.Errorf("internal error leaked: %+v", in)
	}
}

func TestKindTable(t *testing.T) {
	t.Parallel()
	for k := errs.Internal; k <= errs.Unimplemented; k++ {
		if got := errs.KindOf(k.Code()); got != k {
			t.Errorf("KindOf(%v.Code()) = %v, want %v", k, got, k)
		}
		if k.Code() == codes.OK {
			t.Errorf("%v maps to OK", k)
		}
	}
	if got := errs.Kind(200).Code(); got != codes.Internal {
		t.Errorf("unknown kind code = %v, want Internal", got)
	}
	if got := errs.KindOf(codes.OK); got != errs.Internal {
		t.Errorf("KindOf(OK) = %v, want Internal", got)
	}
}

func TestErrorsIsAndAs(t *testing.T) {
	t.Parallel()
	errOutOfStock := errs.New(errs.FailedPrecondition, "OUT_OF_STOCK", "")
	err := fmt.Errorf("checkout: %w", errs.New(errs.FailedPrecondition, "OUT_OF_STOCK", "sku-1 has 0"))
	if !errors.Is(err, errOutOfStock) {
		t.Errorf("errors.Is(%v, OUT_OF_STOCK) = false", err)
	}
	if errors.Is(err, errs.New(errs.FailedPrecondition, "OTHER", "")) {
		t.Errorf("errors.Is matched a different reason")
	}
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.FailedPrecondition {
		t.Errorf("errors.As(%v) = %v", err, e)
	}
	cause := errors.New("disk full")
	if w := errs.Wrap(cause, errs.Unavailable, "", "write"); !errors.Is(w, cause) || errs.KindOfError(w) != errs.Unavailable {
		t.Errorf("Wrap lost its cause or kind: %v", w)
	}
	if errs.KindOfError(context.Canceled) != errs.Canceled || errs.KindOfError(cause) != errs.Internal {
		t.Errorf("KindOfError misclassifies context or plain errors")
	}
}

func TestWithRequestID(t *testing.T) {
	t.Parallel()
	st := errs.WithRequestID(errs.ToStatus(errs.ResourceNotFound("order", "o1")), "req-1")
	d := errs.FromError(st.Err())
	if d.Metadata["request_id"] != "req-1" || d.Resource.GetResourceName() != "o1" || d.Code != codes.NotFound {
		t.Errorf("WithRequestID = %+v, want request_id req-1 and the details kept", d)
	}
	bare := status.New(codes.NotFound, "x")
	if errs.WithRequestID(bare, "r") != bare {
		t.Errorf("WithRequestID changed a status without ErrorInfo")
	}
}

func ExampleToStatus() {
	err := errs.BadRequest("DIVISION_BY_ZERO", errs.FieldViolation{Field: "b", Description: "must not be zero"})
	d := errs.FromError(errs.ToStatus(err).Err())
	fmt.Println(d.Code, d.Reason, d.Domain)
	fmt.Println(d.FieldViolations[0].Field, "-", d.FieldViolations[0].Description)
	// Output:
	// InvalidArgument DIVISION_BY_ZERO bazaar.dev
	// b - must not be zero
}

func ExampleRateLimited() {
	err := errs.RateLimited("api-key:k1", "100 calls per minute", 2*time.Second)
	d := errs.FromError(errs.ToStatus(err).Err())
	fmt.Println(d.Code, d.Reason, d.RetryDelay, d.Quota[0].GetSubject())
	// Output: ResourceExhausted RATE_LIMITED 2s api-key:k1
}

func ExampleDetails_String() {
	err := errs.New(errs.InvalidArgument, "DIVISION_BY_ZERO", "b: must not be zero",
		errs.WithFieldViolation("b", "must not be zero"), errs.WithMetadata("request_id", "r-1"))
	fmt.Println(errs.FromError(errs.ToStatus(err).Err()))
	// Output:
	// InvalidArgument: b: must not be zero
	//   reason: DIVISION_BY_ZERO (bazaar.dev)
	//   request_id: r-1
	//   field b: must not be zero
}
