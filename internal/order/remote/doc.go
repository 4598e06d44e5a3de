// Package remote implements the order domain's ports over the other
// services' gRPC APIs: Catalog (order.Inventory) over
// bazaar.catalog.v1.CatalogService and Payments (order.Payments) over
// bazaar.payment.v1.PaymentService.
//
// Each adapter classifies failures for the saga (see classify): a status
// that repeating the same call cannot change (FAILED_PRECONDITION,
// INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, OUT_OF_RANGE) is a permanent
// order.RemoteError carrying the ErrorInfo reason, mapped to the domain's
// reason codes where the saga acts on them; everything else (UNAVAILABLE,
// DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNIMPLEMENTED,
// auth failures, a broken connection) is transient: every mutating call is
// idempotent by its key, so the saga retries it with the same key.
//
// The adapters set no deadline of their own: the saga bounds every call
// (order.Config.CallTimeout), and the client connection (grpcx.NewClient)
// retries UNAVAILABLE by its service config.
package remote
