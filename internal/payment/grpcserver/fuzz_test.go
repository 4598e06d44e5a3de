package grpcserver_test

import (
	"testing"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/grpc/codes"

	paymentv1 "github.com/bazaarhq/bazaar/gen/bazaar/payment/v1"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// FuzzAuthorizeRequest sends arbitrary Authorize requests through the real
// server chain (validation, the Service, the store, the processor): the
// server never panics and answers only OK, INVALID_ARGUMENT,
// FAILED_PRECONDITION (declines) or UNAVAILABLE (a pending or in-flight
// payment), never INTERNAL. The seed corpus is in
// testdata/fuzz/FuzzAuthorizeRequest.
func FuzzAuthorizeRequest(f *testing.F) {
	f.Add("key-1", "order-1", "cust-1", "EUR", int64(10), int32(0), "4242424242424242")
	f.Add("key-2", "order-2", "cust-1", "EUR", int64(0), int32(1), "4000000000000002")
	f.Add("key-3", "order-3", "cust-1", "JPY", int64(1000000000), int32(999999999), "4000000000000259")
	f.Add("", "", "", "", int64(-1), int32(-1), "")
	f.Add("key-1", "order-1", "cust-1", "EUR", int64(11), int32(0), "4242424242424241")
	h := start(f)
	ok := map[codes.Code]bool{
		codes.OK: true, codes.InvalidArgument: true, codes.FailedPrecondition: true, codes.Unavailable: true,
	}
	f.Fuzz(func(t *testing.T, key, order, customer, currency string, units int64, nanos int32, card string) {
		for _, s := range []string{key, order, customer, currency, card} {
			if !utf8.ValidString(s) {
				t.Skip("proto3 strings are UTF-8: the client refuses to send others")
			}
		}
		_, err := h.client.Authorize(callCtx(t, orderSvc...), &paymentv1.AuthorizeRequest{
			IdempotencyKey: key, OrderId: order, CustomerId: customer, CardNumber: card,
			Amount: &money.Money{CurrencyCode: currency, Units: units, Nanos: nanos},
		})
		if d := errs.FromError(err); !ok[d.Code] {
			t.Errorf("Authorize(%q, %q, %q, %s %d.%09d, %q) = %v, want OK, INVALID_ARGUMENT, FAILED_PRECONDITION or UNAVAILABLE",
				key, order, customer, currency, units, nanos, card, err)
		}
	})
}

// FuzzPaymentOperations sends arbitrary Capture, Void, Refund, GetPayment
// and ListPayments requests (method % 5 picks the call, method / 8 the
// payment: authorized, captured or unknown): the server never panics and
// answers only the documented codes. The seed corpus is in
// testdata/fuzz/FuzzPaymentOperations.
func FuzzPaymentOperations(f *testing.F) {
	f.Add(uint8(0), "key", true, "EUR", int64(5), int32(0), int32(0), "", "")
	f.Add(uint8(1), "key", false, "", int64(0), int32(0), int32(0), "", "")
	f.Add(uint8(2), "key", true, "EUR", int64(100), int32(0), int32(0), "", "")
	f.Add(uint8(2), "", true, "usd", int64(-1), int32(5), int32(0), "", "")
	f.Add(uint8(3), "", false, "", int64(0), int32(0), int32(0), "", "")
	f.Add(uint8(4), "", false, "", int64(0), int32(3), int32(7), "tok", "order-x")
	h := start(f)
	ctx := callCtx(f, orderSvc...)
	authorized, err := h.client.Authorize(ctx, authorizeReq("fuzz-a", "4242424242424242"))
	if err != nil {
		f.Fatal(err)
	}
	captured, err := h.client.Authorize(ctx, authorizeReq("fuzz-c", "4242424242424242"))
	if err != nil {
		f.Fatal(err)
	}
	if _, err := h.client.Capture(ctx, &paymentv1.CaptureRequest{IdempotencyKey: "fuzz", PaymentId: captured.GetPayment().GetId()}); err != nil {
		f.Fatal(err)
	}
	ids := []string{authorized.GetPayment().GetId(), captured.GetPayment().GetId(), "no-such-payment"}
	ok := map[codes.Code]bool{
		codes.OK: true, codes.InvalidArgument: true, codes.FailedPrecondition: true, codes.NotFound: true,
		codes.Aborted: true, codes.Unavailable: true,
	}
	f.Fuzz(func(t *testing.T, method uint8, key string, withAmount bool, currency string, units int64, nanos, pageSize int32,
		token, order string,
	) {
		for _, s := range []string{key, currency, token, order} {
			if !utf8.ValidString(s) {
				t.Skip("proto3 strings are UTF-8: the client refuses to send others")
			}
		}
		var amount *money.Money
		if withAmount {
			amount = &money.Money{CurrencyCode: currency, Units: units, Nanos: nanos}
		}
		id := ids[int(method/8)%len(ids)]
		ctx := callCtx(t, writer...)
		var err error
		switch method % 5 {
		case 0:
			_, err = h.client.Capture(ctx, &paymentv1.CaptureRequest{IdempotencyKey: key, PaymentId: id, Amount: amount})
		case 1:
			_, err = h.client.Void(ctx, &paymentv1.VoidRequest{IdempotencyKey: key, PaymentId: id})
		case 2:
			_, err = h.client.Refund(ctx, &paymentv1.RefundRequest{IdempotencyKey: key, PaymentId: id, Amount: amount})
		case 3:
			_, err = h.client.GetPayment(ctx, &paymentv1.GetPaymentRequest{Id: key})
		default:
			_, err = h.client.ListPayments(callCtx(t, admin...), &paymentv1.ListPaymentsRequest{PageSize: pageSize, PageToken: token,
				OrderId: order, Status: paymentv1.PaymentStatus(nanos)})
		}
		if d := errs.FromError(err); !ok[d.Code] {
			t.Errorf("method %d (%q, %v) = %v, want a documented code", method%5, key, amount, err)
		}
	})
}
