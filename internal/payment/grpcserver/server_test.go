package grpcserver_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/google/go-cmp/cmp"

	paymentv1 "github.com/bazaarhq/bazaar/gen/bazaar/payment/v1"
	"github.com/bazaarhq/bazaar/internal/payment"
	"github.com/bazaarhq/bazaar/internal/payment/processor"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

func TestTestCards(t *testing.T) {
	t.Parallel()
	h := start(t)
	for _, tc := range []struct {
		card    string
		code    codes.Code
		reason  string
		status  paymentv1.PaymentStatus
		decline string
	}{
		{processor.CardSuccess, codes.OK, "", paymentv1.PaymentStatus_PAYMENT_STATUS_AUTHORIZED, ""},
		{"5555555555554444", codes.OK, "", paymentv1.PaymentStatus_PAYMENT_STATUS_AUTHORIZED, ""},
		{processor.CardTransient, codes.OK, "", paymentv1.PaymentStatus_PAYMENT_STATUS_AUTHORIZED, ""},
		{processor.CardDeclined, codes.FailedPrecondition, payment.ReasonPaymentDeclined, paymentv1.PaymentStatus_PAYMENT_STATUS_DECLINED, processor.DeclineGeneric},
		{processor.CardInsufficientFunds, codes.FailedPrecondition, payment.ReasonPaymentDeclined, paymentv1.PaymentStatus_PAYMENT_STATUS_DECLINED, processor.DeclineInsufficientFunds},
		{processor.CardTimeout, codes.Unavailable, payment.ReasonPaymentPending, paymentv1.PaymentStatus_PAYMENT_STATUS_PENDING, ""},
		{"4242424242424241", codes.InvalidArgument, payment.ReasonCardInvalid, 0, ""},
		{"4242", codes.InvalidArgument, "", 0, ""},
	} {
		resp, err := h.client.Authorize(callCtx(t, orderSvc...), authorizeReq("k-"+tc.card, tc.card))
		call := fmt.Sprintf("Authorize(%s)", tc.card)
		if tc.code == codes.OK {
			if err != nil || resp.GetPayment().GetStatus() != tc.status || resp.GetPayment().GetCardLast4() != tc.card[len(tc.card)-4:] {
				t.Errorf("%s = %v, %v, want %v", call, resp, err, tc.status)
			}
			continue
		}
		d := wantStatus(t, call, err, tc.code, tc.reason)
		if tc.code == codes.InvalidArgument {
			if len(d.FieldViolations) != 1 || d.FieldViolations[0].Field != "card_number" {
				t.Errorf("%s violations = %v, want card_number", call, d.FieldViolations)
			}
			if strings.Contains(d.Message+fmt.Sprint(d.FieldViolations), tc.card) && len(tc.card) > 4 {
				t.Errorf("%s error echoes the card number: %v", call, d)
			}
			continue
		}
		if tc.code == codes.Unavailable && d.RetryDelay <= 0 {
			t.Errorf("%s has no RetryInfo", call)
		}
		if d.Metadata["decline_code"] != tc.decline || d.Metadata["payment_id"] == "" {
			t.Errorf("%s metadata = %v, want decline_code %q and payment_id", call, d.Metadata, tc.decline)
		}
		got, err := h.client.GetPayment(callCtx(t, orderSvc...), &paymentv1.GetPaymentRequest{Id: d.Metadata["payment_id"]})
		if err != nil || got.GetPayment().GetStatus() != tc.status {
			t.Errorf("GetPayment(after %s) = %v, %v, want %v", call, got, err, tc.status)
		}
	}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	h := start(t)
	ctx := callCtx(t, orderSvc...)
	for _, tc := range []struct {
		name  string
		req   func(r *paymentv1.AuthorizeRequest)
		field string
	}{
		{"no key", func(r *paymentv1.AuthorizeRequest) { r.IdempotencyKey = "" }, "idempotency_key"},
		{"long key", func(r *paymentv1.AuthorizeRequest) { r.IdempotencyKey = strings.Repeat("k", 65) }, "idempotency_key"},
		{"no order", func(r *paymentv1.AuthorizeRequest) { r.OrderId = "" }, "order_id"},
		{"no amount", func(r *paymentv1.AuthorizeRequest) { r.Amount = nil }, "amount"},
		{"negative", func(r *paymentv1.AuthorizeRequest) { r.Amount = eur(-1, 0) }, "amount"},
		{"zero", func(r *paymentv1.AuthorizeRequest) { r.Amount = eur(0, 0) }, "amount"},
		{"too much", func(r *paymentv1.AuthorizeRequest) { r.Amount = eur(payment.MaxUnits+1, 0) }, "amount"},
		{"currency", func(r *paymentv1.AuthorizeRequest) { r.Amount.CurrencyCode = "eu" }, "amount"},
		{"card letters", func(r *paymentv1.AuthorizeRequest) { r.CardNumber = "4242abcd42424242" }, "card_number"},
	} {
		r := authorizeReq("k", processor.CardSuccess)
		tc.req(r)
		_, err := h.client.Authorize(ctx, r)
		wantStatus(t, "Authorize("+tc.name+")", err, codes.InvalidArgument, "", tc.field)
	}
	_, err := h.client.Capture(ctx, &paymentv1.CaptureRequest{IdempotencyKey: "k", PaymentId: "p", Amount: eur(0, -5)})
	wantStatus(t, "Capture(negative)", err, codes.InvalidArgument, "", "amount")
	_, err = h.client.Capture(ctx, &paymentv1.CaptureRequest{IdempotencyKey: "k", PaymentId: "nope"})
	wantStatus(t, "Capture(unknown payment)", err, codes.NotFound, payment.ReasonPaymentNotFound)
	_, err = h.client.ListPayments(callCtx(t, admin...), &paymentv1.ListPaymentsRequest{PageSize: 500})
	wantStatus(t, "ListPayments(500)", err, codes.InvalidArgument, "", "page_size")
	_, err = h.client.ListPayments(callCtx(t, admin...), &paymentv1.ListPaymentsRequest{PageToken: "forged"})
	wantStatus(t, "ListPayments(forged token)", err, codes.InvalidArgument, payment.ReasonPageTokenInvalid, "page_token")
}

func TestPolicies(t *testing.T) {
	t.Parallel()
	h := start(t)
	resp, err := h.client.Authorize(callCtx(t, writer...), authorizeReq("k", processor.CardSuccess))
	if err != nil {
		t.Fatalf("Authorize(payments:write client) = %v", err)
	}
	id := resp.GetPayment().GetId()
	for _, tc := range []struct {
		name   string
		caller []string
		call   func(ctx contextT) error
		code   codes.Code
	}{
		{"Authorize anonymous", nil, func(ctx contextT) error {
			_, err := h.client.Authorize(ctx, authorizeReq("x", processor.CardSuccess))
			return err
		}, codes.Unauthenticated},
		{"Authorize customer", customer, func(ctx contextT) error {
			_, err := h.client.Authorize(ctx, authorizeReq("x", processor.CardSuccess))
			return err
		}, codes.PermissionDenied},
		{"Capture reader", reader, func(ctx contextT) error {
			_, err := h.client.Capture(ctx, &paymentv1.CaptureRequest{IdempotencyKey: "c", PaymentId: id})
			return err
		}, codes.PermissionDenied},
		{"GetPayment reader", reader, func(ctx contextT) error {
			_, err := h.client.GetPayment(ctx, &paymentv1.GetPaymentRequest{Id: id})
			return err
		}, codes.OK},
		{"GetPayment customer", customer, func(ctx contextT) error {
			_, err := h.client.GetPayment(ctx, &paymentv1.GetPaymentRequest{Id: id})
			return err
		}, codes.PermissionDenied},
		{"ListPayments order", orderSvc, func(ctx contextT) error {
			_, err := h.client.ListPayments(ctx, &paymentv1.ListPaymentsRequest{})
			return err
		}, codes.PermissionDenied},
		{"ListPayments admin", admin, func(ctx contextT) error {
			_, err := h.client.ListPayments(ctx, &paymentv1.ListPaymentsRequest{})
			return err
		}, codes.OK},
		{"Void admin", admin, func(ctx contextT) error {
			_, err := h.client.Void(ctx, &paymentv1.VoidRequest{IdempotencyKey: "v", PaymentId: id})
			return err
		}, codes.PermissionDenied},
	} {
		err := tc.call(callCtx(t, tc.caller...))
		if got := errs.FromError(err).Code; got != tc.code {
			t.Errorf("%s = %v, want %v", tc.name, err, tc.code)
		}
	}
}

func TestIdempotentReplayIsByteIdentical(t *testing.T) {
	t.Parallel()
	h := start(t)
	ctx := callCtx(t, orderSvc...)
	marshal := proto.MarshalOptions{Deterministic: true}
	first, err := h.client.Authorize(ctx, authorizeReq("k", processor.CardSuccess))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.Capture(ctx, &paymentv1.CaptureRequest{IdempotencyKey: "c", PaymentId: first.GetPayment().GetId()}); err != nil {
		t.Fatal(err)
	}
	again, err := h.client.Authorize(ctx, authorizeReq("k", processor.CardSuccess))
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := marshal.Marshal(first)
	b2, _ := marshal.Marshal(again)
	if string(b1) != string(b2) {
		t.Errorf("Authorize replay differs:\n%v\n%v", first, again)
	}
	// A decline replays as the same status (the request id aside).
	_, err1 := h.client.Authorize(ctx, authorizeReq("d", processor.CardDeclined))
	_, err2 := h.client.Authorize(ctx, authorizeReq("d", processor.CardDeclined))
	d1, d2 := errs.FromError(err1), errs.FromError(err2)
	delete(d1.Metadata, "request_id")
	delete(d2.Metadata, "request_id")
	if diff := cmp.Diff(d1, d2, protocmp.Transform()); diff != "" || d1.Reason != payment.ReasonPaymentDeclined {
		t.Errorf("decline replay differs (-first +replay):\n%s", diff)
	}
	// The same key with another request.
	other := authorizeReq("k", processor.CardSuccess)
	other.Amount = eur(20, 0)
	_, err = h.client.Authorize(ctx, other)
	wantStatus(t, "Authorize(same key, other amount)", err, codes.InvalidArgument, payment.ReasonIdempotencyKeyReused, "idempotency_key")
}

func TestConcurrentAuthorizeOneCharge(t *testing.T) {
	t.Parallel()
	h := start(t)
	const n = 10
	var (
		wg   sync.WaitGroup
		out  [n][]byte
		errs [n]error
	)
	for i := range n {
		wg.Go(func() {
			resp, err := h.client.Authorize(callCtx(t, orderSvc...), authorizeReq("same", processor.CardSuccess))
			errs[i] = err
			out[i], _ = proto.MarshalOptions{Deterministic: true}.Marshal(resp)
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || string(out[i]) != string(out[0]) {
			t.Errorf("Authorize #%d = %v, or a response different from #0's", i, errs[i])
		}
	}
	var charges int
	if err := h.store.DB().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM processor_charges`).Scan(&charges); err != nil || charges != 1 {
		t.Errorf("processor charges = %d, %v, want 1", charges, err)
	}
}

func TestCaptureRefundVoid(t *testing.T) {
	t.Parallel()
	h := start(t)
	ctx := callCtx(t, orderSvc...)
	a, err := h.client.Authorize(ctx, authorizeReq("k", processor.CardSuccess))
	if err != nil {
		t.Fatal(err)
	}
	id := a.GetPayment().GetId()
	c, err := h.client.Capture(ctx, &paymentv1.CaptureRequest{IdempotencyKey: "c", PaymentId: id, Amount: eur(10, 0)})
	if err != nil || c.GetPayment().GetStatus() != paymentv1.PaymentStatus_PAYMENT_STATUS_CAPTURED ||
		!proto.Equal(c.GetPayment().GetCapturedAmount(), eur(10, 0)) {
		t.Fatalf("Capture(10) = %v, %v", c, err)
	}
	_, err = h.client.Capture(ctx, &paymentv1.CaptureRequest{IdempotencyKey: "c2", PaymentId: id})
	wantStatus(t, "Capture(again)", err, codes.FailedPrecondition, payment.ReasonPaymentState)
	_, err = h.client.Void(ctx, &paymentv1.VoidRequest{IdempotencyKey: "v", PaymentId: id})
	wantStatus(t, "Void(captured)", err, codes.FailedPrecondition, payment.ReasonPaymentState)
	r, err := h.client.Refund(ctx, &paymentv1.RefundRequest{IdempotencyKey: "r1", PaymentId: id, Amount: eur(2, 500000000)})
	if err != nil || r.GetPayment().GetStatus() != paymentv1.PaymentStatus_PAYMENT_STATUS_PARTIALLY_REFUNDED {
		t.Fatalf("Refund(2.50) = %v, %v", r, err)
	}
	_, err = h.client.Refund(ctx, &paymentv1.RefundRequest{IdempotencyKey: "r2", PaymentId: id, Amount: eur(8, 0)})
	d := wantStatus(t, "Refund(8 of 7.50 left)", err, codes.FailedPrecondition, payment.ReasonRefundExceedsCapture)
	if len(d.Preconditions) != 1 {
		t.Errorf("over-refund preconditions = %v, want one", d.Preconditions)
	}
	r, err = h.client.Refund(ctx, &paymentv1.RefundRequest{IdempotencyKey: "r3", PaymentId: id})
	if err != nil || r.GetPayment().GetStatus() != paymentv1.PaymentStatus_PAYMENT_STATUS_REFUNDED ||
		!proto.Equal(r.GetPayment().GetRefundedAmount(), eur(10, 0)) {
		t.Fatalf("Refund(rest) = %v, %v", r, err)
	}
	b, err := h.client.Authorize(ctx, authorizeReq("k2", processor.CardSuccess))
	if err != nil {
		t.Fatal(err)
	}
	v, err := h.client.Void(ctx, &paymentv1.VoidRequest{IdempotencyKey: "v", PaymentId: b.GetPayment().GetId()})
	if err != nil || v.GetPayment().GetStatus() != paymentv1.PaymentStatus_PAYMENT_STATUS_VOIDED {
		t.Fatalf("Void() = %v, %v", v, err)
	}
	list, err := h.client.ListPayments(callCtx(t, admin...), &paymentv1.ListPaymentsRequest{PageSize: 1})
	if err != nil || len(list.GetPayments()) != 1 || list.GetNextPageToken() == "" {
		t.Fatalf("ListPayments(1) = %v, %v, want one payment and a next page", list, err)
	}
	next, err := h.client.ListPayments(callCtx(t, admin...), &paymentv1.ListPaymentsRequest{PageSize: 1, PageToken: list.GetNextPageToken()})
	if err != nil || len(next.GetPayments()) != 1 || next.GetPayments()[0].GetId() != id {
		t.Errorf("ListPayments(page 2) = %v, %v, want %s", next, err, id)
	}
	if a, err := h.svc.Audit(t.Context()); err != nil || !a.OK() {
		t.Errorf("Audit() = %v, %v", a, err)
	}
}
