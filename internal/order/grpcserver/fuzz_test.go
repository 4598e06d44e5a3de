package grpcserver_test

import (
	"testing"
	"unicode/utf8"

	"google.golang.org/grpc/codes"

	orderv1 "github.com/bazaarhq/bazaar/gen/bazaar/order/v1"
	"github.com/bazaarhq/bazaar/internal/order"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// FuzzPlaceOrderRequest sends arbitrary PlaceOrder requests through the
// real server chain (validation, the Service, the store, the saga over the
// test's catalog and payments): the server never panics and answers only
// OK, INVALID_ARGUMENT or FAILED_PRECONDITION, never INTERNAL. The seed
// corpus is in testdata/fuzz/FuzzPlaceOrderRequest.
func FuzzPlaceOrderRequest(f *testing.F) {
	f.Add("key-1", "4242424242424242", false, "p1", int64(1), "p2", int64(2))
	f.Add("key-2", "4000000000000002", false, "p1", int64(1000), "", int64(0))
	f.Add("key-3", "4242424242424242", true, "", int64(0), "", int64(0))
	f.Add("", "", false, "", int64(-1), "p1", int64(1001))
	f.Add("key-1", "4242424242424241", false, "p1", int64(1), "p1", int64(1))
	h := start(f, order.Config{})
	ok := map[codes.Code]bool{codes.OK: true, codes.InvalidArgument: true, codes.FailedPrecondition: true}
	f.Fuzz(func(t *testing.T, key, card string, useCart bool, p1 string, q1 int64, p2 string, q2 int64) {
		for _, s := range []string{key, card, p1, p2} {
			if !utf8.ValidString(s) {
				t.Skip("proto3 strings are UTF-8: the client refuses to send others")
			}
		}
		req := &orderv1.PlaceOrderRequest{IdempotencyKey: key, CardNumber: card}
		if useCart {
			req.Source = &orderv1.PlaceOrderRequest_UseCart{UseCart: true}
		} else {
			li := &orderv1.LineItems{}
			for _, it := range []struct {
				id string
				q  int64
			}{{p1, q1}, {p2, q2}} {
				if it.id != "" || it.q != 0 {
					li.Items = append(li.Items, &orderv1.LineItem{ProductId: it.id, Quantity: it.q})
				}
			}
			req.Source = &orderv1.PlaceOrderRequest_Items{Items: li}
		}
		_, err := h.client.PlaceOrder(callCtx(t, alice...), req)
		if d := errs.FromError(err); !ok[d.Code] {
			t.Errorf("PlaceOrder(%v) = %v, want OK, INVALID_ARGUMENT or FAILED_PRECONDITION", req, err)
		}
	})
}
