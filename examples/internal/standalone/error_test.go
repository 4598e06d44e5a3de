package standalone_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bazaarhq/bazaar/examples/internal/standalone"
)

func ExampleCallError() {
	err := error(&standalone.CallError{
		Call: "Divide",
		Err:  status.Error(codes.InvalidArgument, "b: the divisor must not be zero"),
	})
	fmt.Println(err)
	// Output: Divide failed: InvalidArgument: b: the divisor must not be zero
}

func TestCallErrorUnwrap(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("wrapped: %w", &standalone.CallError{Call: "Add", Err: context.DeadlineExceeded})
	var ce *standalone.CallError
	if !errors.As(err, &ce) || ce.Call != "Add" {
		t.Errorf("errors.As(%v, *CallError) = false or the wrong call, want the Add CallError", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(%v, context.DeadlineExceeded) = false, want true through Unwrap", err)
	}
}
