package grpcserver_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	paymentv1 "github.com/bazaarhq/bazaar/gen/bazaar/payment/v1"
	"github.com/bazaarhq/bazaar/internal/payment/processor"
)

// BenchmarkAuthorizeCaptureGRPC is a checkout's payment calls through the
// whole server chain (bufconn, policy, validation, SQLite), with 16
// concurrent buyers per CPU.
func BenchmarkAuthorizeCaptureGRPC(b *testing.B) {
	h := start(b)
	ctx := callCtx(b, orderSvc...)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := fmt.Sprintf("bench-%d", n.Add(1))
			a, err := h.client.Authorize(ctx, authorizeReq(key, processor.CardSuccess))
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := h.client.Capture(ctx, &paymentv1.CaptureRequest{IdempotencyKey: key, PaymentId: a.GetPayment().GetId()}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
