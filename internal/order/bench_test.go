package order_test

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/order"
)

// BenchmarkPlaceOrder measures the order service's own cost of a checkout
// (the order row, four saga steps, each persisted with its transition and
// event, on SQLite) with the remote services as in-memory fakes at zero
// latency. "parallel" runs 16 buyers at once, as the end-to-end target
// does.
func BenchmarkPlaceOrder(b *testing.B) {
	for _, bc := range []struct {
		name     string
		parallel bool
	}{{"serial", false}, {"parallel-16", true}} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnv(b, order.Config{Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
			e.inv.addProduct("p1", 1<<40, eur(10, 0))
			var (
				n         atomic.Int64
				mu        sync.Mutex
				latencies []time.Duration
			)
			buy := func() {
				i := n.Add(1)
				start := time.Now()
				defer func() {
					d := time.Since(start)
					mu.Lock()
					latencies = append(latencies, d)
					mu.Unlock()
				}()
				o, err := e.svc.PlaceOrder(b.Context(), user(fmt.Sprintf("u-%d", i%64)), order.PlaceRequest{
					IdempotencyKey: fmt.Sprintf("k-%d", i), CardNumber: cardOK, Items: []order.CartLine{line("p1", 1)},
				})
				if err != nil || o.Status != order.StatusCompleted {
					b.Errorf("PlaceOrder() = %v, %v; want completed", o, err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			if !bc.parallel {
				for b.Loop() {
					buy()
				}
				return
			}
			b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0))) // 16 buyers
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					buy()
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checkouts/s")
			slices.Sort(latencies)
			b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
