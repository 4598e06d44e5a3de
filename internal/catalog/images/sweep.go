package images

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// DefaultSweepGrace is how old a blob must be before the sweeper may
// remove it: far longer than any upload takes from its first byte to its
// record in the catalog.
const DefaultSweepGrace = time.Hour

// SweepResult counts what SweepOrphans removed.
type SweepResult struct {
	// Pending temporary files left by a crash mid-upload.
	Pending int
	// Orphans: committed blobs no product refers to (a crash between the
	// blob's commit and the catalog's record of it, or a failed record).
	Orphans int
}

// SweepOrphans removes the pending blobs and the committed blobs that no
// product refers to, of those last written before cutoff. Blobs younger
// than cutoff are left alone: their uploads may not have been recorded
// yet. The blobs are listed before the catalog's references are read, so
// a blob recorded meanwhile is seen as referenced.
func (s *Service) SweepOrphans(ctx context.Context, cutoff time.Time) (SweepResult, error) {
	var res SweepResult
	n, err := s.blobs.RemovePendingBefore(cutoff)
	res.Pending = n
	if err != nil {
		return res, err
	}
	old, err := s.blobs.CommittedBefore(cutoff)
	if err != nil || len(old) == 0 {
		return res, err
	}
	referenced, err := s.products.ImageIDs(ctx)
	if err != nil {
		return res, fmt.Errorf("images: sweep: %w", err)
	}
	var failed []error
	for _, id := range old {
		if _, ok := referenced[id]; ok {
			continue
		}
		if err := s.blobs.Remove(id); err != nil {
			failed = append(failed, err)
			continue
		}
		res.Orphans++
	}
	return res, errors.Join(failed...)
}

// RunSweeper calls SweepOrphans at once and then every interval, with a
// cutoff of grace before now, until ctx ends; it logs what it removed and
// any failure (and tries again next time). It returns nil.
func (s *Service) RunSweeper(ctx context.Context, interval, grace time.Duration, log *slog.Logger) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		res, err := s.SweepOrphans(ctx, time.Now().Add(-grace))
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("image sweep failed", "error", err, "pending_removed", res.Pending, "orphans_removed", res.Orphans)
		case res.Pending+res.Orphans > 0:
			log.Info("image sweep", "pending_removed", res.Pending, "orphans_removed", res.Orphans)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
