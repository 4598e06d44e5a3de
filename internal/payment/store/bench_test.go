package store_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/bazaarhq/bazaar/internal/payment/processor"
)

// BenchmarkAuthorizeCapture is the checkout's payment hot path on SQLite:
// authorize a card, then capture it.
func BenchmarkAuthorizeCapture(b *testing.B) {
	st := sqliteBackend().open(b)
	svc, _ := newService(b, st)
	amount := eur(25)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		key := fmt.Sprintf("bench-%d", i)
		p, err := svc.Authorize(b.Context(), authorizeRequest(key, processor.CardSuccess, amount))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Capture(b.Context(), key, p.ID, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthorizeCaptureParallel is the same with 16 concurrent buyers
// per CPU, as at a busy checkout.
func BenchmarkAuthorizeCaptureParallel(b *testing.B) {
	st := sqliteBackend().open(b)
	svc, _ := newService(b, st)
	amount := eur(25)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := fmt.Sprintf("bench-%d", n.Add(1))
			p, err := svc.Authorize(b.Context(), authorizeRequest(key, processor.CardSuccess, amount))
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := svc.Capture(b.Context(), key, p.ID, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
