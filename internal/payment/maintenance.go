package payment

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Reconcile resolves the calls left unfinished (a processor timeout, a
// crash, a caller that never retried) older than Config.ReconcileAfter,
// whose owner's lease has ended, by asking the processor for the truth:
//   - a PENDING authorization becomes AUTHORIZED if the processor holds an
//     authorization for it, DECLINED if it declined it; if the processor
//     never saw it, the reference is voided there (so that a late request
//     cannot authorize it) and the payment becomes DECLINED with decline
//     code "processor_no_authorization";
//   - an unfinished capture, void or refund is repeated (the processor is
//     idempotent by reference, so it happens once) and recorded.
//
// It returns how many calls it resolved; failures of single calls are
// joined into the error and retried on the next run.
func (s *Service) Reconcile(ctx context.Context) (int, error) {
	now := s.now()
	ops, err := s.store.StaleOperations(ctx, now.Add(-s.cfg.ReconcileAfter), now, s.cfg.Batch)
	if err != nil {
		return 0, storeError(err, "reading unfinished payments")
	}
	var (
		resolved int
		failures []error
	)
	for _, stale := range ops {
		if ctx.Err() != nil {
			break
		}
		op, err := s.store.TakeOver(ctx, stale.Method, stale.Key, stale.Epoch, s.now().Add(s.cfg.Lease))
		if errors.Is(err, ErrLeaseLost) {
			continue // a retry of the call got there first
		}
		if err != nil {
			failures = append(failures, err)
			continue
		}
		if err := s.reconcile(ctx, op); err != nil {
			failures = append(failures, fmt.Errorf("%s %s of payment %s: %w", op.Method, op.Key, op.PaymentID, err))
			continue
		}
		resolved++
	}
	return resolved, errors.Join(failures...)
}

// reconcile resolves one owned, unfinished operation. A domain error from
// recording it (a decline replayed) is a resolution, not a failure.
func (s *Service) reconcile(ctx context.Context, op *Operation) error {
	if op.Method != MethodAuthorize {
		_, err := s.driveOperation(ctx, op)
		return unlessDomain(err)
	}
	charge, known, err := s.lookup(ctx, op.PaymentID)
	if err == nil && !known {
		charge, err = s.callProcessor(ctx, func(ctx context.Context) (Charge, error) {
			return s.proc.Void(ctx, op.PaymentID)
		})
	}
	if err != nil {
		wctx, cancel := bookkeeping(ctx)
		defer cancel()
		return errors.Join(err, s.store.ExpireLease(wctx, op.Method, op.Key, s.now()))
	}
	_, err = s.finishAuthorize(ctx, op, charge)
	return unlessDomain(err)
}

// unlessDomain drops the errors a call answers its caller with (declines,
// refusals): for Reconcile they are outcomes. Unfinished (UNAVAILABLE)
// and internal errors remain failures.
func unlessDomain(err error) error {
	switch ReasonOf(err) {
	case ReasonPaymentDeclined, ReasonProcessorRejected:
		return nil
	}
	return err
}

// PruneIdempotencyKeys deletes the finished calls' keys older than
// Config.IdempotencyRetention and returns how many it deleted. Unfinished
// calls are kept until Reconcile resolves them.
func (s *Service) PruneIdempotencyKeys(ctx context.Context) (int64, error) {
	before := s.now().Add(-s.cfg.IdempotencyRetention)
	var total int64
	for {
		n, err := s.store.DeleteFinishedOperations(ctx, before, s.cfg.Batch)
		total += n
		if err != nil {
			return total, storeError(err, "pruning idempotency keys")
		}
		if n < int64(s.cfg.Batch) {
			return total, nil
		}
	}
}

// Maintain runs the periodic housekeeping once: Reconcile, then
// PruneIdempotencyKeys. It returns the failures of both, joined.
func (s *Service) Maintain(ctx context.Context) error {
	_, recErr := s.Reconcile(ctx)
	_, pruneErr := s.PruneIdempotencyKeys(ctx)
	return errors.Join(recErr, pruneErr)
}

// RunMaintenance calls Maintain now and then every interval until ctx is
// done, logging failures (the next run tries again); it returns nil when
// ctx ends. Run it in its own goroutine for the life of the process
// (DefaultMaintenanceInterval is a sensible interval).
func (s *Service) RunMaintenance(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return fmt.Errorf("payment: maintenance interval %v: want > 0", interval)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.Maintain(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.ErrorContext(ctx, "payment: maintenance failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
