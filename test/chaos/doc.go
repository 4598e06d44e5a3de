// Package chaos holds Bazaar's crash-recovery tests with real processes
// (issue 5). They build the bazaar binary, run `bazaar up` as a child
// process with a saga failpoint armed, kill it with SIGKILL when the order
// saga pauses there, restart it on the same data directory and check, once
// the order has converged, the saga's invariants (test/invariants) on the
// quiescent SQLite files.
//
// Everything but this comment is in _test.go files. Run the test alone with
//
//	go test -run Crash -v ./test/chaos
//
// A case waits for the killed process's lease on its order to expire
// (order.DefaultLeaseTTL, 30 s) before the restarted process can finish the
// saga, so the cases run in parallel, a few processes at a time.
package chaos
