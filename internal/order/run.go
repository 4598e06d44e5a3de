package order

import (
	"context"
	"time"
)

// Run drives the orders that need it until ctx ends: every PollInterval
// it finds pending or cancelling orders whose next attempt is due and
// whose lease is free or expired (left by a crash, or waiting for a retry)
// and starts a driver for each, at most RecoveryBatch per poll. It always
// returns nil when ctx ends; call Close afterwards to stop the drivers.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	for {
		if _, err := s.Recover(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.WarnContext(ctx, "order: looking for due orders failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Recover starts drivers for the orders due now (see Run) and returns how
// many it found.
func (s *Service) Recover(ctx context.Context) (int, error) {
	ids, err := s.store.DueOrders(ctx, s.now(), s.cfg.RecoveryBatch)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		s.goDrive(id, nil)
	}
	return len(ids), nil
}

// Wait waits until no driver of this Service is running: in tests, to
// observe the outcome of Recover.
func (s *Service) Wait() { s.wg.Wait() }
