// Package order is the order service's core: carts, orders and the
// orchestrated checkout saga, independent of gRPC and SQL. The transport
// (internal/order/grpcserver), the persistence (internal/order/store) and
// the adapters to the catalog and payment services (internal/order/remote)
// are thin layers around it.
//
// # The checkout saga
//
// PlaceOrder creates the order (PENDING, step RESERVE_STOCK) in one
// transaction with its first transition and its order.placed.v1 event, then
// a driver runs the steps, persisting each result (the order row, a
// transition row and an outbox event, in one transaction) before the next
// remote call:
//
//	RESERVE_STOCK -> AUTHORIZE_PAYMENT -> COMMIT_RESERVATION -> CAPTURE_PAYMENT -> COMPLETED
//
// A permanent failure (short stock, a declined card, a closed reservation)
// or a forward step still failing after Config.StepDeadline turns the order
// CANCELLING, and the compensation undoes, in reverse, only what may have
// been done:
//
//	VOID_PAYMENT | REFUND_PAYMENT -> RELEASE_RESERVATION | RETURN_RESERVATION -> CANCELLED
//
// Transient failures are retried with exponential backoff and jitter, the
// attempt count and the time of the next attempt persisted. Compensation
// steps are idempotent and retried until they succeed. Every remote call
// carries an idempotency key derived from the order id, so a step repeated
// after a crash has its effect once.
//
// Exactly one driver works on an order at a time, across processes: a lease
// in the order row, taken by a conditional update and renewed by each step.
// Service.Run finds orders whose next attempt is due and whose lease is free
// or expired and drives them, so a process restarted after a crash
// finishes every saga it had started.
//
// # Failpoints
//
// Config.Failpoint, when set, is called at these named points; an error
// from it stops the driver at once, as a crash would (nothing more is
// written, the lease is left to expire):
//
//	after-order-row      the order row is committed, before the first step
//	after-reserve        ReserveStock answered OK, before that is persisted
//	after-authorize      Authorize answered OK, before that is persisted
//	after-commit         CommitReservation answered OK, before that is persisted
//	after-capture        Capture answered OK, before that is persisted
//	before-compensation  a step failed for good, before CANCELLING is persisted
//	mid-compensation     a compensation call answered OK, before that is persisted
//	after-void, after-refund, after-release, after-return
//	                     the same, per compensation step
package order
