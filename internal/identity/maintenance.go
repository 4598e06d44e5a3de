package identity

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Maintain runs the periodic housekeeping once: RotateKeys, then deleting
// refresh tokens that have expired (and sessions left without any). It
// returns the first failure of each step, joined.
func (s *Service) Maintain(ctx context.Context) error {
	rotErr := s.RotateKeys(ctx)
	_, purgeErr := s.store.DeleteExpiredSessions(ctx, s.now())
	if purgeErr != nil {
		purgeErr = fmt.Errorf("identity: deleting expired sessions: %w", purgeErr)
	}
	return errors.Join(rotErr, purgeErr)
}

// RunMaintenance calls Maintain now and then every interval until ctx is
// done, logging failures (the next run tries again); it returns nil when
// ctx ends. Run it in its own goroutine for the life of the process. The
// interval must be positive and well below SigningPeriod - PublishAhead
// (DefaultMaintenanceInterval is).
func (s *Service) RunMaintenance(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return fmt.Errorf("identity: maintenance interval %v: want > 0", interval)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.Maintain(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.ErrorContext(ctx, "identity: maintenance failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
