package remote_test

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/order"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
)

// BenchmarkCheckoutEndToEnd places orders with 16 concurrent buyers through
// the adapters against the real catalog and payment services (SQLite, one
// process, gRPC over bufconn): the whole checkout's cost, every service's
// transactions included, without the network.
func BenchmarkCheckoutEndToEnd(b *testing.B) {
	s := startSystem(b)
	id := s.addProduct(b, "SKU-BENCH", 1_000_000_000)
	var (
		n         atomic.Int64
		mu        sync.Mutex
		latencies []time.Duration
	)
	b.ReportAllocs()
	b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0))) // 16 buyers
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			start := time.Now()
			o, err := s.orders.PlaceOrder(b.Context(), &auth.Principal{Kind: auth.User, Subject: fmt.Sprintf("u-%d", i%64)},
				order.PlaceRequest{IdempotencyKey: fmt.Sprintf("k-%d", i), CardNumber: "4242424242424242",
					Items: []order.CartLine{{ProductID: id, Quantity: 1}}})
			d := time.Since(start)
			if err != nil || o.Status != order.StatusCompleted {
				b.Errorf("PlaceOrder() = %v, %v; want completed", o, err)
			}
			mu.Lock()
			latencies = append(latencies, d)
			mu.Unlock()
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checkouts/s")
	slices.Sort(latencies)
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
}
