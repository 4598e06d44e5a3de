// Package payment is the payment service's application core: card payments
// of orders (authorize, capture, void, refund) against a card processor,
// idempotent by caller-chosen keys, with a double-entry ledger of the money
// that moved. It holds the domain types and the Service (the use cases) and
// declares what it consumes (Store, Processor); it imports no gRPC type.
//
// # Life of a payment
//
// Authorize creates a PENDING payment and asks the processor for an
// authorization: AUTHORIZED or DECLINED once the processor answers. Capture
// takes the money (once, at most the authorized amount): CAPTURED. Refund
// gives some or all of it back: PARTIALLY_REFUNDED, REFUNDED. Void releases
// an authorization: VOIDED. A payment stays PENDING while the processor's
// answer is unknown (a timeout, a crash); a retry with the same idempotency
// key, or Reconcile, asks the processor for the truth.
//
// No transaction spans a processor call: a call is claimed in one short
// transaction (the idempotency key, the payment row), the processor is
// called, and its answer is recorded in a second transaction together with
// the payment's new state, the ledger postings and the outbox event.
//
// # Idempotency
//
// Every mutating call takes a key, scoped per method and kept at least
// Config.IdempotencyRetention (24 h). The same key with the same request
// replays the stored first answer (the payment as it was then, or the
// decline); the same key with a different request is INVALID_ARGUMENT
// IDEMPOTENCY_KEY_REUSED. A request's fingerprint covers every field except
// the full card number, which is replaced by its brand, length and last four
// digits: nothing derived from the full number is ever stored (an unkeyed
// hash of a card number can be reversed by enumeration). Concurrent calls
// with one key wait for the first one's answer.
//
// # The simulated processor's test cards
//
// internal/payment/processor simulates an external processor with its own
// records. Its well-known card numbers:
//
//	4242424242424242  always succeeds
//	4000000000000002  declined, "generic_decline"
//	4000000000009995  declined, "insufficient_funds"
//	4000000000000259  authorized at the processor, then the call times out
//	4000000000000341  fails transiently the first 2 attempts of each operation
//
// Any other Luhn-valid number of 12 to 19 digits succeeds; any other string
// is INVALID_ARGUMENT CARD_INVALID before the processor is called.
//
// # Ledger
//
// A capture of X posts, in one journal transaction, processor_clearing +X
// and customer:<id> -X (the card was charged), then customer:<id> +X and
// merchant -X (the charge pays the merchant); a refund posts the reverse.
// Postings are integer billionths of a unit and sum to zero per currency in
// every journal transaction. Authorizations and voids post nothing (holds
// are not modelled). Audit checks the ledger, the payments and the
// processor's records against each other.
package payment
