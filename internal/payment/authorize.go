package payment

import (
	"context"
	"errors"

	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// AuthorizeRequest asks for an authorization.
type AuthorizeRequest struct {
	// IdempotencyKey makes retries safe (1 to 64 characters).
	IdempotencyKey string
	OrderID        string
	CustomerID     string
	// Amount to hold: positive, at most MaxUnits units.
	Amount Money
	// Card is used for this call only and never stored.
	Card CardNumber
}

// fingerprint covers every field but the full card number, for which it
// covers the brand, length and last four digits (see the package doc).
func (r AuthorizeRequest) fingerprint() []byte {
	return fingerprint(MethodAuthorize, r.OrderID, r.CustomerID, r.Amount, r.Card.Brand(), len(r.Card), r.Card.Last4())
}

func (r AuthorizeRequest) validate() error {
	if err := checkID("idempotency_key", r.IdempotencyKey); err != nil {
		return err
	}
	if err := checkID("order_id", r.OrderID); err != nil {
		return err
	}
	if err := checkID("customer_id", r.CustomerID); err != nil {
		return err
	}
	if err := checkAmount("amount", r.Amount); err != nil {
		return err
	}
	if !r.Card.Valid() {
		return invalidField(ReasonCardInvalid, "card_number", "must be 12 to 19 digits with a valid check digit")
	}
	return nil
}

// Authorize holds r.Amount on r.Card for an order and returns the
// AUTHORIZED payment. It is idempotent by r.IdempotencyKey (see the package
// doc): one key makes one payment and one processor authorization however
// often, and however concurrently, it is sent.
//
// Errors: INVALID_ARGUMENT REQUEST_INVALID, CARD_INVALID,
// IDEMPOTENCY_KEY_REUSED; FAILED_PRECONDITION PAYMENT_DECLINED (metadata
// decline_code, payment_id; the DECLINED payment is recorded and a replay
// answers the same); UNAVAILABLE PROCESSOR_UNAVAILABLE (nothing answered
// for the key: retry with it), PAYMENT_PENDING (the processor's outcome is
// unknown; the payment stays PENDING until a retry with the key or
// Reconcile learns it), REQUEST_IN_PROGRESS (a call with the key is still
// in flight at the caller's deadline).
func (s *Service) Authorize(ctx context.Context, r AuthorizeRequest) (*Payment, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	fp := r.fingerprint()
	now := s.now()
	p := &Payment{
		ID: s.cfg.NewID(), OrderID: r.OrderID, CustomerID: r.CustomerID, Amount: r.Amount,
		CapturedAmount: Money{Currency: r.Amount.Currency}, RefundedAmount: Money{Currency: r.Amount.Currency},
		Status: StatusPending, CardBrand: r.Card.Brand(), CardLast4: r.Card.Last4(), CreateTime: now, UpdateTime: now,
	}
	op := &Operation{
		Method: MethodAuthorize, Key: r.IdempotencyKey, Fingerprint: fp, PaymentID: p.ID,
		LeaseUntil: now.Add(s.cfg.Lease), CreateTime: now,
	}
	existing, err := s.store.ClaimAuthorize(ctx, op, p)
	if err != nil {
		return nil, storeError(err, "claiming authorization")
	}
	tookOver := false
	if existing != nil {
		if op, err = s.join(ctx, existing, fp); err != nil {
			return nil, err
		}
		if op.Result != nil {
			return replay(op)
		}
		if p, err = s.store.Payment(ctx, op.PaymentID); err != nil {
			return nil, storeError(err, "reading payment")
		}
		tookOver = true
	}
	return s.driveAuthorize(ctx, op, p, r.Card, tookOver)
}

// driveAuthorize gets the processor's answer for the owned, unfinished
// authorization op of p and records it. A call that took over from another
// first asks the processor what it knows, so that it never authorizes
// twice (the processor is idempotent by reference anyway).
func (s *Service) driveAuthorize(ctx context.Context, op *Operation, p *Payment, card CardNumber, tookOver bool) (*Payment, error) {
	var (
		charge Charge
		known  bool
		err    error
	)
	if tookOver {
		charge, known, err = s.lookup(ctx, p.ProcessorRef())
	}
	if err == nil && !known {
		charge, err = s.callProcessor(ctx, func(ctx context.Context) (Charge, error) {
			return s.proc.Authorize(ctx, p.ProcessorRef(), card, p.Amount)
		})
	}
	wctx, cancel := bookkeeping(ctx)
	defer cancel()
	var decline *DeclineError
	switch {
	case errors.As(err, &decline):
		charge = Charge{Ref: p.ProcessorRef(), Status: ChargeDeclined, DeclineCode: decline.Code}
	case errors.Is(err, ErrProcessorUnavailable):
		// Nothing happened at the processor. The payment and the claim stay
		// (no answer is stored): a retry with the key takes over at once.
		if eerr := s.store.ExpireLease(wctx, op.Method, op.Key, s.now()); eerr != nil {
			return nil, storeError(eerr, "releasing authorization")
		}
		return nil, errProcessorUnavailable(s.cfg.RetryAfter)
	case err != nil:
		if eerr := s.store.ExpireLease(wctx, op.Method, op.Key, s.now()); eerr != nil {
			return nil, storeError(eerr, "releasing authorization")
		}
		return nil, errPending(p.ID, s.cfg.RetryAfter)
	}
	return s.finishAuthorize(wctx, op, charge)
}

// lookup asks the processor for the charge ref, with retries.
func (s *Service) lookup(ctx context.Context, ref string) (Charge, bool, error) {
	var known bool
	c, err := s.callProcessor(ctx, func(ctx context.Context) (Charge, error) {
		c, ok, err := s.proc.Lookup(ctx, ref)
		known = ok
		return c, err
	})
	return c, known, err
}

// finishAuthorize records the processor's answer charge for the
// authorization op: AUTHORIZED, or DECLINED (a voided charge is one the
// processor never authorized).
func (s *Service) finishAuthorize(ctx context.Context, op *Operation, charge Charge) (*Payment, error) {
	now := s.now()
	done, err := s.store.FinishOperation(ctx, op.PaymentID, op.Method, op.Key, func(p *Payment, _ *Operation) (Finish, error) {
		p.UpdateTime = now
		p.ProcessorReference = charge.ID
		switch charge.Status {
		case ChargeAuthorized:
			p.Status = StatusAuthorized
			return Finish{Result: Result{Payment: p.Clone()}, Events: []Event{newEvent(TopicAuthorized, p, nil)}}, nil
		case ChargeDeclined, ChargeVoided:
			p.Status = StatusDeclined
			p.DeclineCode = charge.DeclineCode
			if p.DeclineCode == "" {
				p.DeclineCode = "processor_no_authorization"
			}
			return Finish{Result: Result{Error: declinedError(p)}, Events: []Event{newEvent(TopicDeclined, p, nil)}}, nil
		case ChargeCaptured:
		}
		return Finish{}, errs.New(errs.Internal, "", "the processor holds charge "+charge.Ref+" as "+string(charge.Status)+
			" before any capture")
	})
	switch {
	case err == nil, errors.Is(err, ErrLeaseLost):
		// ErrLeaseLost: another call recorded the answer first.
		return replay(done)
	case errors.Is(err, ErrNotFound):
		return nil, errs.New(errs.Internal, "", "authorization "+op.Key+" vanished")
	}
	var de *errs.Error
	if errors.As(err, &de) {
		return nil, err
	}
	return nil, storeError(err, "recording authorization")
}
