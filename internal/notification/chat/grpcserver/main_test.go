package grpcserver_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test's goroutines (handlers, writers, receivers) must be gone
// when the package's tests end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
