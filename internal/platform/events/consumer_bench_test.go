package events_test

import (
	"context"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/events"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb/sqldbtest"
)

// BenchmarkConsumer measures a consumer applying events to SQLite with a
// trivial Handle (one INSERT), per op one event, over an in-memory source
// (no transport, so the figures are the consumer's own):
//
//   - backlog: every event is already delivered when the consumer reads it
//     (a catch-up, or a burst);
//   - lockstep: the source delivers the next event only once the previous
//     one is committed (a lone event at a time: its latency).
//
// It reports events/s and the process's CPU per event (user+system).
func BenchmarkConsumer(b *testing.B) {
	for _, mode := range []string{"backlog", "lockstep"} {
		b.Run(mode, func(b *testing.B) {
			db := openDB(b, sqldbtest.SQLite())
			if _, err := db.ExecContext(b.Context(), `CREATE TABLE seen (event_id TEXT NOT NULL)`); err != nil {
				b.Fatal(err)
			}
			src := newMemSource()
			lockstep := mode == "lockstep"
			applied := make(chan struct{}, 1)
			var last string
			var lastMu sync.Mutex
			done := make(chan struct{})
			c, err := events.NewConsumer(events.ConsumerConfig{
				Name: "bench", SourceName: "mem", DB: db, Source: src,
				Handle: func(ctx context.Context, tx *sqldb.Tx, e events.Event) error {
					_, err := tx.ExecContext(ctx, `INSERT INTO seen (event_id) VALUES (?)`, e.ID)
					return err
				},
				AfterCommit: func(e events.Event) {
					lastMu.Lock()
					hit := e.Cursor == last
					lastMu.Unlock()
					if hit {
						close(done)
					}
					if lockstep {
						applied <- struct{}{}
					}
				},
			})
			if err != nil {
				b.Fatal(err)
			}
			lastMu.Lock()
			last = strconv.Itoa(b.N)
			lastMu.Unlock()
			if lockstep {
				src.gate = applied
				applied <- struct{}{} // the first event may go
			}
			src.add(b.N, "e")

			ctx, cancel := context.WithCancel(b.Context())
			var wg sync.WaitGroup
			cpu0 := processCPU()
			start := time.Now()
			b.ResetTimer()
			wg.Go(func() { _ = c.Run(ctx) })
			select {
			case <-done:
			case <-time.After(5 * time.Minute):
				b.Fatal("consumer did not apply every event in time")
			}
			b.StopTimer()
			elapsed, cpu := time.Since(start), processCPU()-cpu0
			cancel()
			wg.Wait()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/event")
		})
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
