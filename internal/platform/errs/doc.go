// Package errs is Bazaar's one error model. Domain code returns *Error values
// that carry a Kind; one table (kindTable) maps each Kind to a gRPC code, and
// ToStatus turns any error into a *status.Status that always carries a
// google.rpc.ErrorInfo (reason, domain "bazaar.dev") plus whatever other
// google.rpc details the error holds (BadRequest, PreconditionFailure,
// RetryInfo, QuotaFailure, ResourceInfo).
//
// Internal errors never leak: their message reaches the client as the bare
// "internal error"; the cause stays in the server's log.
//
// Clients read details back with FromError (or the shortcuts Reason,
// FieldViolations, RetryDelay).
package errs
