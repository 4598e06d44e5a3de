package helloworld_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/bazaarhq/bazaar/examples/helloworld"
	"github.com/bazaarhq/bazaar/examples/internal/grpcxtest"
	helloworldv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// testTimeout bounds every call of a test, so a hang fails fast instead of
// waiting for go test's global timeout.
const testTimeout = 10 * time.Second

// startGreeter serves a Greeter on a real grpcx.Server (so the platform's
// validation, error mapping and drain run) over bufconn and returns a
// client built by grpcx.NewClient, and grpcxtest.Serve's stop: it shuts the
// server down as a process does and returns Serve's result. The test's
// cleanup stops the server too and fails unless Serve returned nil.
func startGreeter(t *testing.T, opts ...grpcx.ServerOption) (helloworldv1.GreeterServiceClient, func() error) {
	t.Helper()
	srv, err := grpcx.NewServer(append([]grpcx.ServerOption{grpcx.WithName("helloworld-test")}, opts...)...)
	if err != nil {
		t.Fatalf("grpcx.NewServer() = %v", err)
	}
	helloworldv1.RegisterGreeterServiceServer(srv, helloworld.NewGreeter())

	cc, stop := grpcxtest.Serve(t, srv)
	return helloworldv1.NewGreeterServiceClient(cc), stop
}

// callContext is the context of one test call: the test's, with a deadline.
func callContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// checkError fails the test unless err has the code, the ErrorInfo reason
// and (when field is set) a google.rpc.BadRequest violation on field.
func checkError(t *testing.T, call string, err error, code codes.Code, reason, field string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s = nil error, want code %v", call, code)
		return
	}
	d := errs.FromError(err)
	if d.Code != code {
		t.Errorf("%s = %v, want code %v", call, err, code)
	}
	if d.Reason != reason {
		t.Errorf("%s: ErrorInfo reason = %q, want %q (error %v)", call, d.Reason, reason, err)
	}
	if field != "" && !slices.ContainsFunc(d.FieldViolations, func(v errs.FieldViolation) bool {
		return v.Field == field && v.Description != ""
	}) {
		t.Errorf("%s: field violations = %+v, want one on %q with a description", call, d.FieldViolations, field)
	}
}

// handlerEnds records how each SayHelloStream call ended inside the server,
// as a stream interceptor, so a test can prove the handler returned.
type handlerEnds chan error

func (h handlerEnds) interceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	err := handler(srv, ss)
	if info.FullMethod == helloworldv1.GreeterService_SayHelloStream_FullMethodName {
		h <- err
	}
	return err
}

// wait returns how the next call ended, failing the test if no handler
// returns within d.
func (h handlerEnds) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case err := <-h:
		return err
	case <-timer.C:
		t.Fatalf("the SayHelloStream handler did not return within %v", d)
		return nil
	}
}
