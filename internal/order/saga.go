package order

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

var (
	// errLeaseLost stops a driver whose order is no longer its to drive
	// (another driver took an expired lease, or the order ended).
	errLeaseLost = errors.New("order: lease lost")
	// errStopped stops a driver at a failpoint, as a crash would.
	errStopped = errors.New("order: driver stopped")
)

// drive runs the saga of the order until it ends, the next attempt is
// further away than the driver may hold its lease, the lease is lost, or
// ctx ends. leased, when not nil, is the order already leased to this
// Service; otherwise drive takes the lease first and returns if it cannot.
// Failures are logged: the order's persisted state is the truth, and Run
// resumes it.
func (s *Service) drive(ctx context.Context, id string, leased *Order) {
	o := leased
	if o == nil {
		now := s.now()
		var err error
		o, err = s.store.AcquireLease(ctx, id, s.cfg.Owner, now, now.Add(s.cfg.LeaseTTL))
		if err != nil {
			if !errors.Is(err, ErrNotLeasable) && !errors.Is(err, ErrNotFound) && ctx.Err() == nil {
				s.cfg.Logger.WarnContext(ctx, "order: taking a lease failed", "order_id", id, "error", err)
			}
			return
		}
	}
	failures := 0
	for !o.Status.Terminal() && o.LeaseOwner == s.cfg.Owner {
		if wait := o.NextAttemptAt.Sub(s.now()); wait > 0 && !sleep(ctx, wait) {
			return // the lease expires; Run takes the order up again
		}
		next, err := s.step(ctx, o)
		switch {
		case err == nil:
			o, failures = next, 0
			continue
		case errors.Is(err, errStopped), errors.Is(err, errLeaseLost), ctx.Err() != nil:
			return
		}
		// The database failed (the remote call, if made, is repeated
		// with its key, so its effect stays single): read the order
		// again after a pause and go on while it is still ours.
		s.cfg.Logger.WarnContext(ctx, "order: persisting a saga step failed", "order_id", id, "step", o.Step.String(), "error", err)
		if failures++; !sleep(ctx, s.backoff(failures)) {
			return
		}
		if o, err = s.store.Order(ctx, id); err != nil {
			return
		}
	}
}

// step runs the order's current step once and persists its outcome. It
// returns the order as persisted.
func (s *Service) step(ctx context.Context, o *Order) (*Order, error) {
	step := o.Step
	if o.Status == StatusPending && o.CancelRequested {
		if err := s.failpoint(ctx, "before-compensation"); err != nil {
			return nil, err
		}
		return s.advance(ctx, o.ID, step, func(c *change) {
			// The step's call may have been made without its outcome being
			// saved (a crash between the two leaves no trace: Attempts
			// counts failed calls only), so undo it as if it happened:
			// undoing an effect that never happened is a no-op remotely
			// (an unknown reservation releases, an unknown payment voids).
			mayHaveDone(c.o, step)
			c.compensate(c.o.CancelCode, c.o.CancelReason)
		})
	}
	paymentID, err := s.call(ctx, o)
	now := s.now()
	if err == nil {
		if err := s.failpoint(ctx, "after-"+step.String()); err != nil {
			return nil, err
		}
		if step.compensating() {
			if err := s.failpoint(ctx, "mid-compensation"); err != nil {
				return nil, err
			}
		}
		return s.advance(ctx, o.ID, step, func(c *change) { c.succeeded(step, paymentID) })
	}
	if re, ok := asPermanent(err); ok {
		if step.compensating() {
			return s.advance(ctx, o.ID, step, func(c *change) {
				if !c.refused(step, re) {
					c.retry(err, s.backoff(c.o.Attempts), s.cfg.LeaseTTL)
				}
			})
		}
		if err := s.failpoint(ctx, "before-compensation"); err != nil {
			return nil, err
		}
		return s.advance(ctx, o.ID, step, func(c *change) {
			if step == StepAuthorizePayment {
				c.o.CardNumber = ""
				if re.PaymentID != "" {
					c.o.PaymentID = re.PaymentID
				}
			}
			c.compensate(re.Reason, describeFailure(step, re))
		})
	}
	if !step.compensating() && now.Sub(o.StepStartTime) >= s.cfg.StepDeadline {
		if err := s.failpoint(ctx, "before-compensation"); err != nil {
			return nil, err
		}
		return s.advance(ctx, o.ID, step, func(c *change) {
			mayHaveDone(c.o, step)
			c.compensate(CancelStepDeadline, fmt.Sprintf("%s did not succeed within %v", stepTitle(step), s.cfg.StepDeadline))
		})
	}
	return s.advance(ctx, o.ID, step, func(c *change) { c.retry(err, s.backoff(c.o.Attempts), s.cfg.LeaseTTL) })
}

// call makes the remote call of the order's step, bounded by CallTimeout.
// It returns the payment id that Authorize (or a void that had to learn
// it) answered.
func (s *Service) call(ctx context.Context, o *Order) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	switch o.Step {
	case StepReserveStock:
		return "", s.inv.Reserve(ctx, o.ReservationID(), stockItems(o.Items))
	case StepAuthorizePayment:
		return s.pay.Authorize(ctx, authorizeRequest(o))
	case StepCommitReservation:
		return "", s.inv.Commit(ctx, o.ReservationID())
	case StepCapturePayment:
		return "", s.pay.Capture(ctx, o.ID+":capture", o.PaymentID, o.Total)
	case StepVoidPayment:
		id := o.PaymentID
		if id == "" {
			// The authorization's outcome is unknown (the saga gave up
			// on it): replaying it with its key learns it, or makes it if
			// it never happened, and then it is voided.
			pid, err := s.pay.Authorize(ctx, authorizeRequest(o))
			if re, ok := asPermanent(err); ok {
				// A refused authorization holds nothing: there is
				// nothing to void.
				return "", &RemoteError{Permanent: true, Reason: ReasonPaymentDeclined, Message: re.Message, PaymentID: re.PaymentID, Err: err}
			}
			if err != nil {
				return "", err
			}
			id = pid
		}
		return id, s.pay.Void(ctx, o.ID+":void", id)
	case StepRefundPayment:
		return "", s.pay.Refund(ctx, o.ID+":refund", o.PaymentID, o.Total)
	case StepReleaseReservation:
		return "", s.inv.Release(ctx, o.ReservationID())
	case StepReturnReservation:
		return "", s.inv.Return(ctx, o.ReservationID())
	}
	return "", fmt.Errorf("order: no remote call for step %v", o.Step)
}

func authorizeRequest(o *Order) AuthorizeRequest {
	return AuthorizeRequest{
		Key: o.ID + ":authorize", OrderID: o.ID, CustomerID: o.CustomerID, Amount: o.Total, CardNumber: o.CardNumber,
	}
}

func stockItems(items []Item) []StockItem {
	out := make([]StockItem, 0, len(items))
	for _, it := range items {
		out = append(out, StockItem{SKU: it.SKU, Quantity: it.Quantity})
	}
	return out
}

// advance persists, as the lease holder, what mutate does to the order at
// step, renewing the lease (or releasing it when the order ends or waits
// long), and wakes local waiters. It returns errLeaseLost when the order
// is no longer this driver's at that step.
func (s *Service) advance(ctx context.Context, id string, step Step, mutate func(c *change)) (*Order, error) {
	now := s.now()
	wrote := false
	o, err := s.store.UpdateOrder(ctx, id, func(o *Order) ([]Transition, []Event, error) {
		wrote = false
		if o.LeaseOwner != s.cfg.Owner || o.Step != step || o.Status.Terminal() {
			return nil, nil, errLeaseLost
		}
		c := &change{o: o, now: now}
		o.UpdateTime = now
		o.LeaseUntil = now.Add(s.cfg.LeaseTTL)
		mutate(c)
		if o.Status.Terminal() {
			o.LeaseOwner, o.LeaseUntil, o.CardNumber = "", time.Time{}, ""
		}
		wrote = len(c.events) > 0
		return c.ts, c.events, nil
	})
	if err != nil {
		return nil, err
	}
	if wrote {
		s.cfg.OnEvents()
	}
	s.changes.notify(id, o)
	return o, nil
}

// backoff is the wait before attempt n+1: exponential from RetryBase,
// capped at RetryMax, with jitter so that retries of many orders spread.
func (s *Service) backoff(attempts int) time.Duration {
	d := s.cfg.RetryBase << min(attempts, 30)
	if d <= 0 || d > s.cfg.RetryMax {
		d = s.cfg.RetryMax
	}
	return d/2 + rand.N(d/2+1) //nolint:gosec // jitter, not a secret
}

func (s *Service) failpoint(ctx context.Context, name string) error {
	if s.cfg.Failpoint == nil {
		return nil
	}
	if err := s.cfg.Failpoint(ctx, name); err != nil {
		return fmt.Errorf("%w at failpoint %s: %w", errStopped, name, err)
	}
	return nil
}

// change is one persisted change of an order: the order being changed and
// the transitions and events it makes.
type change struct {
	o      *Order
	now    time.Time
	ts     []Transition
	events []Event
}

// to moves the order to status and step, recording the transition and its
// event.
func (c *change) to(status Status, step Step, reason string) {
	prev := c.o.Status
	c.o.Status, c.o.Step = status, step
	c.o.Attempts, c.o.NextAttemptAt, c.o.StepStartTime, c.o.LastError = 0, c.now, c.now, ""
	c.o.Sequence++
	t := Transition{
		OrderID: c.o.ID, Sequence: c.o.Sequence, Status: status, Step: step, Reason: reason, Time: c.now,
		Order: c.o.publicCopy(),
	}
	c.ts = append(c.ts, t)
	c.events = append(c.events, transitionEvent(topicOf(prev, status), &t))
}

func topicOf(prev, next Status) string {
	switch {
	case next == StatusCompleted:
		return TopicCompleted
	case next == StatusCancelled:
		return TopicCancelled
	case next == StatusCancelling && prev != StatusCancelling:
		return TopicCancelling
	}
	return TopicProgressed
}

// compensate starts undoing what the order may have done, for the reason
// given; with nothing to undo the order is cancelled at once.
func (c *change) compensate(code, reason string) {
	c.o.CancelCode, c.o.CancelReason = code, reason
	next := nextCompensation(c.o)
	c.to(StatusCancelling, next, "cancelling: "+reason)
	if next == StepDone {
		c.to(StatusCancelled, StepDone, "cancelled: "+reason)
	}
}

// succeeded records that step succeeded and moves to the next one.
func (c *change) succeeded(step Step, paymentID string) {
	o := c.o
	switch step {
	case StepReserveStock:
		o.Reserved = true
	case StepAuthorizePayment:
		o.Authorized, o.PaymentID, o.CardNumber = true, paymentID, ""
	case StepCommitReservation:
		o.Committed = true
	case StepCapturePayment:
		o.Captured = true
	case StepVoidPayment:
		o.Authorized, o.CardNumber = false, ""
		if paymentID != "" {
			o.PaymentID = paymentID
		}
	case StepRefundPayment:
		o.Captured, o.Authorized = false, false
	case StepReleaseReservation:
		o.Reserved = false
	case StepReturnReservation:
		o.Committed, o.Reserved = false, false
	default:
	}
	c.next(stepDone(step))
}

// next moves the order to its next step after reason happened.
func (c *change) next(reason string) {
	o := c.o
	switch {
	case o.Status == StatusPending && o.CancelRequested:
		c.compensate(o.CancelCode, o.CancelReason)
	case o.Status == StatusPending:
		if step := nextForward(o); step != StepDone {
			c.to(StatusPending, step, reason)
		} else {
			c.to(StatusCompleted, StepDone, reason+"; order completed")
		}
	default:
		if step := nextCompensation(o); step != StepDone {
			c.to(StatusCancelling, step, reason)
		} else {
			c.to(StatusCancelled, StepDone, reason+"; order cancelled: "+o.CancelReason)
		}
	}
}

// refused handles a permanent refusal of compensation step: the answers
// that mean "already undone" or "undo it the other way" move on and
// report true; any other is retried (false), since compensation must
// succeed.
func (c *change) refused(step Step, re *RemoteError) bool {
	o := c.o
	switch {
	case step == StepVoidPayment && re.Reason == ReasonPaymentCaptured:
		o.Captured = true // refund it instead
	case step == StepVoidPayment && (re.Reason == ReasonPaymentDeclined || re.Reason == ReasonPaymentNotFound):
		o.Authorized, o.CardNumber = false, "" // nothing was authorized
		if re.PaymentID != "" {
			o.PaymentID = re.PaymentID
		}
	case step == StepRefundPayment && re.Reason == ReasonPaymentNotCaptured:
		o.Captured = false // void it instead
	case step == StepRefundPayment && (re.Reason == ReasonPaymentRefunded || re.Reason == ReasonPaymentNotFound):
		o.Captured, o.Authorized = false, false // nothing left to give back
	case step == StepReleaseReservation && re.Reason == ReasonReservationClosed && !o.TriedReturn:
		o.Committed = true // committed after all: return it
	case step == StepReleaseReservation, step == StepReturnReservation && re.Reason == ReasonReservationNotFound:
		o.Reserved, o.Committed = false, false // nothing is held
	case step == StepReturnReservation:
		o.Committed, o.TriedReturn = false, true // not committed: release it
	default:
		return false
	}
	c.next(fmt.Sprintf("%s: %s", stepTitle(step), re.Reason))
	return true
}

// retry records a transient failure and schedules the next attempt. A
// driver that would wait more than half its lease releases it, and Run
// takes the order up when it is due.
func (c *change) retry(err error, delay, leaseTTL time.Duration) {
	o := c.o
	o.Attempts++
	o.NextAttemptAt = c.now.Add(delay)
	msg := err.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	o.LastError = msg
	if delay > leaseTTL/2 {
		o.LeaseOwner, o.LeaseUntil = "", time.Time{}
	}
}

// mayHaveDone marks the effect of a forward step whose outcome is unknown
// as possibly done, so that the compensation undoes it (every undo
// tolerates an effect that never happened).
func mayHaveDone(o *Order, step Step) {
	switch step {
	case StepReserveStock:
		o.Reserved = true
	case StepAuthorizePayment:
		o.Authorized = true
	case StepCommitReservation:
		o.Committed = true
	case StepCapturePayment:
		o.Captured = true
	default:
	}
}

func nextForward(o *Order) Step {
	switch {
	case !o.Reserved:
		return StepReserveStock
	case !o.Authorized:
		return StepAuthorizePayment
	case !o.Committed:
		return StepCommitReservation
	case !o.Captured:
		return StepCapturePayment
	}
	return StepDone
}

func nextCompensation(o *Order) Step {
	switch {
	case o.Captured:
		return StepRefundPayment
	case o.Authorized:
		return StepVoidPayment
	case o.Committed:
		return StepReturnReservation
	case o.Reserved:
		return StepReleaseReservation
	}
	return StepDone
}

func stepTitle(s Step) string {
	switch s {
	case StepReserveStock:
		return "reserving stock"
	case StepAuthorizePayment:
		return "authorizing the payment"
	case StepCommitReservation:
		return "committing the reservation"
	case StepCapturePayment:
		return "capturing the payment"
	case StepVoidPayment:
		return "voiding the payment"
	case StepRefundPayment:
		return "refunding the payment"
	case StepReleaseReservation:
		return "releasing the reservation"
	case StepReturnReservation:
		return "returning the stock"
	default:
	}
	return s.String()
}

func stepDone(s Step) string {
	switch s {
	case StepReserveStock:
		return "stock reserved"
	case StepAuthorizePayment:
		return "payment authorized"
	case StepCommitReservation:
		return "reservation committed"
	case StepCapturePayment:
		return "payment captured"
	case StepVoidPayment:
		return "payment voided"
	case StepRefundPayment:
		return "payment refunded"
	case StepReleaseReservation:
		return "reservation released"
	case StepReturnReservation:
		return "stock returned"
	default:
	}
	return s.String()
}

func describeFailure(step Step, re *RemoteError) string {
	switch re.Reason {
	case ReasonInsufficientStock:
		return "not enough stock"
	case ReasonPaymentDeclined:
		return "the payment was declined"
	case ReasonReservationClosed:
		return "the stock reservation expired"
	}
	return fmt.Sprintf("%s failed: %s", stepTitle(step), re.Message)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
