package payment

import "context"

// ChargeStatus is the state of a charge at the processor.
type ChargeStatus string

// The charge statuses.
const (
	ChargeAuthorized ChargeStatus = "authorized"
	ChargeDeclined   ChargeStatus = "declined"
	ChargeCaptured   ChargeStatus = "captured"
	ChargeVoided     ChargeStatus = "voided"
)

// Charge is the processor's record of a payment: the truth Reconcile and
// Audit compare the payments with.
type Charge struct {
	// Ref is the payment's reference (Payment.ProcessorRef).
	Ref string
	// ID is the processor's own id of the charge.
	ID          string
	Status      ChargeStatus
	DeclineCode string
	Amount      Money
	Captured    Money
	Refunded    Money
}

// Processor is the card processor, as the Service needs it. Every
// operation is idempotent by its reference: repeating it returns the first
// outcome and moves no money twice. Errors: ErrProcessorUnavailable
// (nothing happened, retry), ErrProcessorTimeout or any other error (the
// outcome is not known), *DeclineError (Authorize only), and
// ErrProcessorRejected (the charge's state at the processor forbids it).
// internal/payment/processor simulates one.
type Processor interface {
	// Authorize holds amount on card under ref.
	Authorize(ctx context.Context, ref string, card CardNumber, amount Money) (Charge, error)
	// Capture takes amount (at most the authorized amount) of the charge
	// ref; a charge is captured once.
	Capture(ctx context.Context, ref string, amount Money) (Charge, error)
	// Void releases the authorization ref. Voiding a reference the
	// processor does not know records it as voided, so that a late
	// Authorize under it cannot succeed.
	Void(ctx context.Context, ref string) (Charge, error)
	// Refund gives back amount of the captured charge ref, once per
	// refundRef.
	Refund(ctx context.Context, ref, refundRef string, amount Money) (Charge, error)
	// Lookup returns the charge ref and whether the processor knows it.
	Lookup(ctx context.Context, ref string) (Charge, bool, error)
}
