package events_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/events"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb/sqldbtest"
)

// BenchmarkFanOut measures, per op, the time from committing one event
// (then Notify) to its delivery to the last of 1000 subscribers, each
// reading on its own goroutine, on SQLite. It reports the p50 and p99 of
// that latency; the target is p99 <= 100 ms.
func BenchmarkFanOut(b *testing.B) {
	const subscribers = 1000
	db := openDB(b, sqldbtest.SQLite())
	f := startFeed(b, db, events.WithPollInterval(time.Hour))

	var delivered sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	var readers sync.WaitGroup
	for range subscribers {
		s, err := f.Subscribe(ctx, events.FromNow, nil)
		if err != nil {
			b.Fatal(err)
		}
		readers.Go(func() {
			defer s.Close()
			for {
				if _, err := s.Next(ctx); err != nil {
					return
				}
				delivered.Done()
			}
		})
	}
	defer func() {
		cancel()
		readers.Wait()
	}()

	latencies := make([]time.Duration, 0, b.N)
	for b.Loop() {
		delivered.Add(subscribers)
		start := time.Now()
		write(b, db, "bench")
		f.Notify()
		delivered.Wait()
		latencies = append(latencies, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(subscribers, "subscribers")
}
