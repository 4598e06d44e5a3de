package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bazaarhq/bazaar/internal/payment"
	"github.com/bazaarhq/bazaar/internal/payment/processor"
	"github.com/bazaarhq/bazaar/internal/payment/store"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

func TestSQLite(t *testing.T) {
	t.Parallel()
	testContract(t, sqliteBackend())
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	testContract(t, postgresBackend(t))
}

// testContract is the behaviour payment.Store promises, on every engine,
// checked through the Service (idempotency, concurrency, the ledger) and
// directly where the promise is the store's. Each case opens its own
// store, so cases run in parallel.
func testContract(t *testing.T, b backend) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, st *store.Store)
	}{
		{"Lifecycle", testLifecycle},
		{"ReplaySequential", testReplaySequential},
		{"ConcurrentAuthorizeSameKey", testConcurrentAuthorize},
		{"KeyReusedForAnotherRequest", testKeyReused},
		{"OneCapture", testOneCapture},
		{"ConcurrentCapturesDifferentKeys", testConcurrentCaptures},
		{"Refunds", testRefunds},
		{"ConcurrentRefunds", testConcurrentRefunds},
		{"Void", testVoid},
		{"Declines", testDeclines},
		{"TimeoutThenRetry", testTimeoutRetry},
		{"ConcurrentRetriesOfATimeout", testConcurrentTimeoutRetries},
		{"ReconcileTimeout", testReconcileTimeout},
		{"ReconcileNeverReached", testReconcileNeverReached},
		{"Transient", testTransient},
		{"List", testList},
		{"Prune", testPrune},
		{"AuditDetectsCorruption", testAuditCorruption},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, b.open(t))
		})
	}
}

func testLifecycle(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	p := mustAuthorize(t, svc, "a1", eur(100))
	if p.Status != payment.StatusAuthorized || p.ProcessorReference == "" || p.CardLast4 != "4242" || p.CardBrand != "visa" {
		t.Fatalf("Authorize() = %+v, want AUTHORIZED with a processor reference and card 4242", p)
	}
	wantAudit(t, svc)
	sixty := eur(60)
	p, err := svc.Capture(t.Context(), "c1", p.ID, &sixty)
	if err != nil || p.Status != payment.StatusCaptured || p.CapturedAmount != sixty {
		t.Fatalf("Capture(60) = %+v, %v, want CAPTURED 60", p, err)
	}
	wantAudit(t, svc)
	twenty := eur(20)
	p, err = svc.Refund(t.Context(), "r1", p.ID, &twenty)
	if err != nil || p.Status != payment.StatusPartiallyRefunded || p.RefundedAmount != twenty {
		t.Fatalf("Refund(20) = %+v, %v, want PARTIALLY_REFUNDED 20", p, err)
	}
	wantAudit(t, svc)
	p, err = svc.Refund(t.Context(), "r2", p.ID, nil)
	if err != nil || p.Status != payment.StatusRefunded || p.RefundedAmount != sixty {
		t.Fatalf("Refund(rest) = %+v, %v, want REFUNDED 60", p, err)
	}
	a := wantAudit(t, svc)
	o := a.Orders[p.OrderID]
	if o.Captured != sixty.Nanos || o.Refunded != sixty.Nanos || o.Captures != 1 || o.Statuses[p.ID] != payment.StatusRefunded {
		t.Errorf("Audit().Orders[%s] = %+v, want 60 captured, 60 refunded, 1 capture, refunded", p.OrderID, o)
	}
	got, err := svc.GetPayment(t.Context(), p.ID)
	if err != nil {
		t.Fatalf("GetPayment() = %v", err)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("GetPayment() differs from the last answer (-answer +got):\n%s", diff)
	}
	want := []string{payment.TopicAuthorized, payment.TopicCaptured, payment.TopicRefunded, payment.TopicRefunded}
	if got := topics(t, st); !slices.Equal(got, want) {
		t.Errorf("outbox topics = %v, want %v", got, want)
	}
	if n := count(t, st, `SELECT COUNT(*) FROM ledger_postings WHERE payment_id = ?`, p.ID); n != 12 {
		t.Errorf("ledger postings = %d, want 12 (4 per capture and refund)", n)
	}
}

func testReplaySequential(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	first := mustAuthorize(t, svc, "k", eur(10))
	if _, err := svc.Capture(t.Context(), "c", first.ID, nil); err != nil {
		t.Fatalf("Capture() = %v", err)
	}
	// The replay answers the first response, not the payment as it is now.
	again := mustAuthorize(t, svc, "k", eur(10))
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("Authorize replay differs (-first +replay):\n%s", diff)
	}
	c1, err1 := svc.Capture(t.Context(), "c", first.ID, nil)
	c2, err2 := svc.Capture(t.Context(), "c", first.ID, nil)
	if err1 != nil || err2 != nil || !cmp.Equal(c1, c2) || c1.Status != payment.StatusCaptured {
		t.Errorf("Capture replays = %+v, %v / %+v, %v, want the same CAPTURED payment", c1, err1, c2, err2)
	}
	// A decline replays as the same error.
	_, d1 := svc.Authorize(t.Context(), authorizeRequest("d", processor.CardDeclined, eur(5)))
	_, d2 := svc.Authorize(t.Context(), authorizeRequest("d", processor.CardDeclined, eur(5)))
	e1 := wantKind(t, "Authorize(declined)", d1, errs.FailedPrecondition, payment.ReasonPaymentDeclined)
	e2 := wantKind(t, "Authorize(declined) replay", d2, errs.FailedPrecondition, payment.ReasonPaymentDeclined)
	if e1.Message != e2.Message || !cmp.Equal(e1.Metadata, e2.Metadata) {
		t.Errorf("decline replay = %v %v, want %v %v", e2, e2.Metadata, e1, e1.Metadata)
	}
	if n := count(t, st, `SELECT COUNT(*) FROM payments`); n != 2 {
		t.Errorf("payments = %d, want 2", n)
	}
}

func testConcurrentAuthorize(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	const n = 10
	var (
		wg   sync.WaitGroup
		out  [n]*payment.Payment
		errs [n]error
	)
	for i := range n {
		wg.Go(func() {
			out[i], errs[i] = svc.Authorize(t.Context(), authorizeRequest("same", processor.CardSuccess, eur(42)))
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Authorize #%d = %v", i, errs[i])
		}
		if diff := cmp.Diff(out[0], out[i]); diff != "" {
			t.Errorf("Authorize #%d differs from #0:\n%s", i, diff)
		}
	}
	if got := count(t, st, `SELECT COUNT(*) FROM payments`); got != 1 {
		t.Errorf("payments = %d, want 1", got)
	}
	if got := count(t, st, `SELECT COUNT(*) FROM processor_charges`); got != 1 {
		t.Errorf("processor charges = %d, want 1", got)
	}
	if got := topics(t, st); len(got) != 1 {
		t.Errorf("events = %v, want one", got)
	}
}

func testKeyReused(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	p := mustAuthorize(t, svc, "k", eur(10))
	for name, r := range map[string]payment.AuthorizeRequest{
		"amount":   authorizeRequest("k", processor.CardSuccess, eur(11)),
		"card":     authorizeRequest("k", "5555555555554444", eur(10)),
		"customer": {IdempotencyKey: "k", OrderID: "order-k", CustomerID: "other", Amount: eur(10), Card: processor.CardSuccess},
	} {
		_, err := svc.Authorize(t.Context(), r)
		wantKind(t, "Authorize(same key, other "+name+")", err, errs.InvalidArgument, payment.ReasonIdempotencyKeyReused)
	}
	// Keys are scoped per method.
	if _, err := svc.Capture(t.Context(), "k", p.ID, nil); err != nil {
		t.Errorf("Capture(key of an Authorize) = %v, want success", err)
	}
	five := eur(5)
	_, err := svc.Capture(t.Context(), "k", p.ID, &five)
	wantKind(t, "Capture(same key, other amount)", err, errs.InvalidArgument, payment.ReasonIdempotencyKeyReused)
}

func testOneCapture(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	p := mustAuthorize(t, svc, "a", eur(10))
	if _, err := svc.Capture(t.Context(), "c1", p.ID, nil); err != nil {
		t.Fatalf("Capture() = %v", err)
	}
	_, err := svc.Capture(t.Context(), "c2", p.ID, nil)
	e := wantKind(t, "second Capture()", err, errs.FailedPrecondition, payment.ReasonPaymentState)
	if d := errs.FromError(errs.ToStatus(e).Err()); len(d.Preconditions) != 1 || d.Preconditions[0].GetType() != payment.PreconditionStatus {
		t.Errorf("second Capture() preconditions = %v, want one of type %s", d.Preconditions, payment.PreconditionStatus)
	}
	q := mustAuthorize(t, svc, "b", eur(10))
	eleven := eur(11)
	_, err = svc.Capture(t.Context(), "c3", q.ID, &eleven)
	wantKind(t, "Capture(above authorized)", err, errs.FailedPrecondition, payment.ReasonAmountExceedsAuthorized)
	usd := payment.Money{Currency: "USD", Nanos: 1}
	_, err = svc.Capture(t.Context(), "c4", q.ID, &usd)
	wantKind(t, "Capture(USD)", err, errs.FailedPrecondition, payment.ReasonCurrencyMismatch)
	_, err = svc.Capture(t.Context(), "c5", "no-such-payment", nil)
	wantKind(t, "Capture(unknown)", err, errs.NotFound, payment.ReasonPaymentNotFound)
	wantAudit(t, svc)
}

func testConcurrentCaptures(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	p := mustAuthorize(t, svc, "a", eur(10))
	const n = 6
	var (
		wg   sync.WaitGroup
		errs [n]error
	)
	for i := range n {
		wg.Go(func() { _, errs[i] = svc.Capture(t.Context(), fmt.Sprintf("c%d", i), p.ID, nil) })
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch payment.ReasonOf(err) {
		case "":
			if err != nil {
				t.Errorf("Capture #%d = %v", i, err)
			}
			ok++
		case payment.ReasonPaymentState, payment.ReasonPaymentBusy:
		default:
			t.Errorf("Capture #%d = %v, want success, PAYMENT_STATE or PAYMENT_BUSY", i, err)
		}
	}
	if ok != 1 {
		t.Errorf("%d captures succeeded, want 1", ok)
	}
	a := wantAudit(t, svc)
	if o := a.Orders[p.OrderID]; o.Captured != eur(10).Nanos {
		t.Errorf("captured %d, want %d", o.Captured, eur(10).Nanos)
	}
}

func testRefunds(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	p := mustAuthorize(t, svc, "a", eur(50))
	_, err := svc.Refund(t.Context(), "r0", p.ID, nil)
	wantKind(t, "Refund(uncaptured)", err, errs.FailedPrecondition, payment.ReasonPaymentState)
	if _, err := svc.Capture(t.Context(), "c", p.ID, nil); err != nil {
		t.Fatalf("Capture() = %v", err)
	}
	sixty := eur(60)
	_, err = svc.Refund(t.Context(), "r1", p.ID, &sixty)
	e := wantKind(t, "Refund(60 of 50)", err, errs.FailedPrecondition, payment.ReasonRefundExceedsCapture)
	if d := errs.FromError(errs.ToStatus(e).Err()); len(d.Preconditions) != 1 || d.Preconditions[0].GetType() != payment.PreconditionAmount {
		t.Errorf("over-refund preconditions = %v, want one of type %s", d.Preconditions, payment.PreconditionAmount)
	}
	thirty := eur(30)
	if _, err := svc.Refund(t.Context(), "r2", p.ID, &thirty); err != nil {
		t.Fatalf("Refund(30) = %v", err)
	}
	wantAudit(t, svc)
	_, err = svc.Refund(t.Context(), "r3", p.ID, &thirty)
	wantKind(t, "Refund(30 more of 20 left)", err, errs.FailedPrecondition, payment.ReasonRefundExceedsCapture)
	got, err := svc.Refund(t.Context(), "r4", p.ID, nil)
	if err != nil || got.Status != payment.StatusRefunded || got.RefundedAmount != eur(50) {
		t.Fatalf("Refund(rest) = %+v, %v, want REFUNDED 50", got, err)
	}
	_, err = svc.Refund(t.Context(), "r5", p.ID, nil)
	wantKind(t, "Refund(refunded)", err, errs.FailedPrecondition, payment.ReasonRefundExceedsCapture)
	wantAudit(t, svc)
}

func testConcurrentRefunds(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	p := mustAuthorize(t, svc, "a", eur(10))
	if _, err := svc.Capture(t.Context(), "c", p.ID, nil); err != nil {
		t.Fatalf("Capture() = %v", err)
	}
	four := eur(4)
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			// Retry a busy payment, as a client would.
			for {
				_, err := svc.Refund(t.Context(), fmt.Sprintf("r%d", i), p.ID, &four)
				if payment.ReasonOf(err) != payment.ReasonPaymentBusy {
					return
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	wg.Wait()
	a := wantAudit(t, svc)
	if o := a.Orders[p.OrderID]; o.Refunded != eur(8).Nanos {
		t.Errorf("refunded %d, want %d (two refunds of 4 fit in 10)", o.Refunded, eur(8).Nanos)
	}
}

func testVoid(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	p := mustAuthorize(t, svc, "a", eur(10))
	v, err := svc.Void(t.Context(), "v1", p.ID)
	if err != nil || v.Status != payment.StatusVoided {
		t.Fatalf("Void() = %+v, %v, want VOIDED", v, err)
	}
	again, err := svc.Void(t.Context(), "v2", p.ID)
	if err != nil || !cmp.Equal(v, again) {
		t.Errorf("Void(voided) = %+v, %v, want the voided payment", again, err)
	}
	_, err = svc.Capture(t.Context(), "c", p.ID, nil)
	wantKind(t, "Capture(voided)", err, errs.FailedPrecondition, payment.ReasonPaymentState)
	// The no-op is recorded under its key like any answer.
	if replayed, err := svc.Void(t.Context(), "v2", p.ID); err != nil || !cmp.Equal(v, replayed) {
		t.Errorf("Void(replay of the no-op) = %+v, %v, want the voided payment", replayed, err)
	}
	other := mustAuthorize(t, svc, "other", eur(1))
	_, err = svc.Void(t.Context(), "v2", other.ID)
	wantKind(t, "Void(no-op key, other payment)", err, errs.InvalidArgument, payment.ReasonIdempotencyKeyReused)

	_, err = svc.Authorize(t.Context(), authorizeRequest("d", processor.CardDeclined, eur(5)))
	declinedID := errs.FromError(errs.ToStatus(err).Err()).Metadata["payment_id"]
	if d, err := svc.Void(t.Context(), "v3", declinedID); err != nil || d.Status != payment.StatusDeclined {
		t.Errorf("Void(declined) = %+v, %v, want the declined payment", d, err)
	}

	q := mustAuthorize(t, svc, "b", eur(10))
	if _, err := svc.Capture(t.Context(), "c2", q.ID, nil); err != nil {
		t.Fatalf("Capture() = %v", err)
	}
	_, err = svc.Void(t.Context(), "v4", q.ID)
	wantKind(t, "Void(captured)", err, errs.FailedPrecondition, payment.ReasonPaymentState)
	wantAudit(t, svc)
}

func testDeclines(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	for card, code := range map[string]string{
		processor.CardDeclined: processor.DeclineGeneric, processor.CardInsufficientFunds: processor.DeclineInsufficientFunds,
	} {
		_, err := svc.Authorize(t.Context(), authorizeRequest("k"+card, card, eur(5)))
		e := wantKind(t, "Authorize("+card+")", err, errs.FailedPrecondition, payment.ReasonPaymentDeclined)
		if e.Metadata["decline_code"] != code || e.Metadata["payment_id"] == "" {
			t.Errorf("Authorize(%s) metadata = %v, want decline_code %s and a payment_id", card, e.Metadata, code)
		}
		p, err := svc.GetPayment(t.Context(), e.Metadata["payment_id"])
		if err != nil || p.Status != payment.StatusDeclined || p.DeclineCode != code {
			t.Errorf("GetPayment(declined) = %+v, %v, want DECLINED %s", p, err, code)
		}
	}
	if got := topics(t, st); !slices.Equal(got, []string{payment.TopicDeclined, payment.TopicDeclined}) {
		t.Errorf("events = %v, want two declines", got)
	}
	wantAudit(t, svc)
}

func testTimeoutRetry(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	r := authorizeRequest("t", processor.CardTimeout, eur(7))
	_, err := svc.Authorize(t.Context(), r)
	e := wantKind(t, "Authorize(timeout card)", err, errs.Unavailable, payment.ReasonPaymentPending)
	d := errs.FromError(errs.ToStatus(e).Err())
	if d.RetryDelay <= 0 || d.Metadata["payment_id"] == "" {
		t.Errorf("PAYMENT_PENDING details = %+v, want RetryInfo and payment_id", d)
	}
	if p, err := svc.GetPayment(t.Context(), d.Metadata["payment_id"]); err != nil || p.Status != payment.StatusPending {
		t.Errorf("GetPayment() = %+v, %v, want PENDING", p, err)
	}
	p, err := svc.Authorize(t.Context(), r)
	if err != nil || p.Status != payment.StatusAuthorized || p.ID != d.Metadata["payment_id"] {
		t.Fatalf("Authorize(retry) = %+v, %v, want payment %s AUTHORIZED", p, err, d.Metadata["payment_id"])
	}
	if n := count(t, st, `SELECT COUNT(*) FROM processor_charges`); n != 1 {
		t.Errorf("processor charges = %d, want 1", n)
	}
	wantAudit(t, svc)
}

func testReconcileTimeout(t *testing.T, st *store.Store) {
	svc, clk := newService(t, st)
	_, err := svc.Authorize(t.Context(), authorizeRequest("t", processor.CardTimeout, eur(7)))
	id := errs.FromError(errs.ToStatus(err).Err()).Metadata["payment_id"]
	if n, err := svc.Reconcile(t.Context()); err != nil || n != 0 {
		t.Errorf("Reconcile(too recent) = %d, %v, want 0", n, err)
	}
	clk.Advance(payment.DefaultReconcileAfter + time.Second)
	if n, err := svc.Reconcile(t.Context()); err != nil || n != 1 {
		t.Fatalf("Reconcile() = %d, %v, want 1", n, err)
	}
	p, err := svc.GetPayment(t.Context(), id)
	if err != nil || p.Status != payment.StatusAuthorized {
		t.Fatalf("GetPayment() = %+v, %v, want AUTHORIZED after reconciliation", p, err)
	}
	// The caller's retry now replays the reconciled answer.
	again, err := svc.Authorize(t.Context(), authorizeRequest("t", processor.CardTimeout, eur(7)))
	if err != nil || again.ID != id || again.Status != payment.StatusAuthorized {
		t.Errorf("Authorize(retry) = %+v, %v, want %s AUTHORIZED", again, err, id)
	}
	wantAudit(t, svc)
}

func testReconcileNeverReached(t *testing.T, st *store.Store) {
	svc, clk := newService(t, st)
	// A crash after the claim, before the processor call.
	p := &payment.Payment{
		ID: "p-crashed", OrderID: "o1", CustomerID: "c1", Amount: eur(3), CapturedAmount: eur(0), RefundedAmount: eur(0),
		Status: payment.StatusPending, CardBrand: "visa", CardLast4: "4242", CreateTime: t0, UpdateTime: t0,
	}
	op := &payment.Operation{Method: payment.MethodAuthorize, Key: "crash", Fingerprint: []byte{1}, PaymentID: p.ID,
		LeaseUntil: t0.Add(time.Second), CreateTime: t0}
	if existing, err := st.ClaimAuthorize(t.Context(), op, p); err != nil || existing != nil {
		t.Fatalf("ClaimAuthorize() = %v, %v", existing, err)
	}
	if existing, err := st.ClaimAuthorize(t.Context(), op, p); err != nil || existing == nil || existing.PaymentID != p.ID {
		t.Fatalf("ClaimAuthorize(again) = %+v, %v, want the first claim", existing, err)
	}
	clk.Advance(time.Hour)
	if n, err := svc.Reconcile(t.Context()); err != nil || n != 1 {
		t.Fatalf("Reconcile() = %d, %v, want 1", n, err)
	}
	got, err := svc.GetPayment(t.Context(), p.ID)
	if err != nil || got.Status != payment.StatusDeclined || got.DeclineCode != "processor_no_authorization" {
		t.Fatalf("GetPayment() = %+v, %v, want DECLINED processor_no_authorization", got, err)
	}
	if n := count(t, st, `SELECT COUNT(*) FROM processor_charges WHERE ref = ? AND status = 'voided'`, p.ID); n != 1 {
		t.Errorf("processor voided charges = %d, want 1 (the reference is closed)", n)
	}
	wantAudit(t, svc)
}

func testTransient(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	p, err := svc.Authorize(t.Context(), authorizeRequest("x", processor.CardTransient, eur(9)))
	if err != nil || p.Status != payment.StatusAuthorized {
		t.Fatalf("Authorize(transient card) = %+v, %v, want AUTHORIZED after retries", p, err)
	}
	if p, err = svc.Capture(t.Context(), "c", p.ID, nil); err != nil || p.Status != payment.StatusCaptured {
		t.Fatalf("Capture(transient card) = %+v, %v, want CAPTURED after retries", p, err)
	}
	wantAudit(t, svc)
}

func testList(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	var ids []string
	for i := range 5 {
		r := authorizeRequest(fmt.Sprintf("k%d", i), processor.CardSuccess, eur(1))
		r.OrderID = []string{"o-a", "o-b"}[i%2]
		p, err := svc.Authorize(t.Context(), r)
		if err != nil {
			t.Fatalf("Authorize() = %v", err)
		}
		ids = append(ids, p.ID)
	}
	if _, err := svc.Void(t.Context(), "v", ids[0]); err != nil {
		t.Fatalf("Void() = %v", err)
	}
	var got []string
	token := ""
	for range 10 {
		page, next, err := svc.ListPayments(t.Context(), payment.ListRequest{PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatalf("ListPayments() = %v", err)
		}
		for _, p := range page {
			got = append(got, p.ID)
		}
		if token = next; token == "" {
			break
		}
	}
	want := slices.Clone(ids)
	slices.Reverse(want)
	if !slices.Equal(got, want) {
		t.Errorf("ListPayments() pages = %v, want newest first %v", got, want)
	}
	byOrder, _, err := svc.ListPayments(t.Context(), payment.ListRequest{OrderID: "o-a"})
	if err != nil || len(byOrder) != 3 {
		t.Errorf("ListPayments(order o-a) = %d payments, %v, want 3", len(byOrder), err)
	}
	voided, _, err := svc.ListPayments(t.Context(), payment.ListRequest{Status: payment.StatusVoided})
	if err != nil || len(voided) != 1 || voided[0].ID != ids[0] {
		t.Errorf("ListPayments(voided) = %v, %v, want %s", voided, err, ids[0])
	}
	_, next, _ := svc.ListPayments(t.Context(), payment.ListRequest{PageSize: 1})
	_, _, err = svc.ListPayments(t.Context(), payment.ListRequest{PageSize: 1, PageToken: next, OrderID: "o-a"})
	wantKind(t, "ListPayments(token of other filters)", err, errs.InvalidArgument, payment.ReasonPageTokenInvalid)
	_, _, err = svc.ListPayments(t.Context(), payment.ListRequest{PageSize: 201})
	wantKind(t, "ListPayments(page size 201)", err, errs.InvalidArgument, payment.ReasonPageSizeInvalid)
}

func testPrune(t *testing.T, st *store.Store) {
	svc, clk := newService(t, st)
	mustAuthorize(t, svc, "old", eur(1))
	_, _ = svc.Authorize(t.Context(), authorizeRequest("pending", processor.CardTimeout, eur(1)))
	clk.Advance(23 * time.Hour)
	if n, err := svc.PruneIdempotencyKeys(t.Context()); err != nil || n != 0 {
		t.Errorf("PruneIdempotencyKeys(23h) = %d, %v, want 0", n, err)
	}
	clk.Advance(2 * time.Hour)
	mustAuthorize(t, svc, "new", eur(1))
	if n, err := svc.PruneIdempotencyKeys(t.Context()); err != nil || n != 1 {
		t.Errorf("PruneIdempotencyKeys(25h) = %d, %v, want 1", n, err)
	}
	if n := count(t, st, `SELECT COUNT(*) FROM operations`); n != 2 {
		t.Errorf("operations left = %d, want 2 (the new one and the unfinished one)", n)
	}
	// Maintain reconciles the old pending call and prunes nothing new.
	if err := svc.Maintain(t.Context()); err != nil {
		t.Errorf("Maintain() = %v", err)
	}
	if n := count(t, st, `SELECT COUNT(*) FROM payments WHERE status = ?`, int(payment.StatusPending)); n != 0 {
		t.Errorf("pending payments after Maintain = %d, want 0", n)
	}
}

func testAuditCorruption(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	p := mustAuthorize(t, svc, "a", eur(10))
	if _, err := svc.Capture(t.Context(), "c", p.ID, nil); err != nil {
		t.Fatalf("Capture() = %v", err)
	}
	q := mustAuthorize(t, svc, "b", eur(10))
	wantAudit(t, svc)
	ctx := context.Background()
	for _, stmt := range []string{
		// A posting without its other side.
		`INSERT INTO ledger_postings (txn_id, line, payment_id, account, currency, amount, create_time)
			VALUES ('forged', 1, '` + p.ID + `', 'merchant', 'EUR', 5, CURRENT_TIMESTAMP)`,
		// The processor captured a payment the service thinks authorized.
		`UPDATE processor_charges SET status = 'captured', captured = amount WHERE ref = '` + q.ID + `'`,
		// A charge nobody knows about.
		`INSERT INTO processor_charges (ref, charge_id, status, decline_code, currency, amount, captured, refunded, card_brand,
			card_last4, create_time, update_time) VALUES ('ghost', 'ch_ghost', 'authorized', '', 'EUR', 1, 0, 0, 'visa', '4242',
			CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`,
	} {
		if _, err := st.DB().ExecContext(ctx, stmt); err != nil {
			t.Fatalf("corrupting: %v", err)
		}
	}
	a, err := svc.Audit(t.Context())
	if err != nil {
		t.Fatalf("Audit() = %v", err)
	}
	if a.OK() || a.Imbalance["EUR"] != 5 || !slices.Equal(a.UnbalancedTransactions, []string{"forged"}) {
		t.Errorf("Audit() imbalance = %v %v, want EUR 5 in transaction forged", a.Imbalance, a.UnbalancedTransactions)
	}
	if len(a.LedgerMismatches) != 1 || a.LedgerMismatches[0].PaymentID != p.ID {
		t.Errorf("Audit() ledger mismatches = %v, want payment %s", a.LedgerMismatches, p.ID)
	}
	var mismatched []string
	for _, m := range a.ProcessorMismatches {
		mismatched = append(mismatched, m.PaymentID)
	}
	slices.Sort(mismatched)
	if want := []string{q.ID, "ghost"}; !slices.Equal(mismatched, want) {
		t.Errorf("Audit() processor mismatches = %v, want %v", a.ProcessorMismatches, want)
	}
}

func testConcurrentTimeoutRetries(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	const n = 10
	var (
		wg   sync.WaitGroup
		out  [n]*payment.Payment
		errs [n]error
	)
	for i := range n {
		wg.Go(func() {
			out[i], errs[i] = svc.Authorize(t.Context(), authorizeRequest("same", processor.CardTimeout, eur(3)))
		})
	}
	wg.Wait()
	id := ""
	for i := range n {
		switch {
		case errs[i] == nil && out[i].Status == payment.StatusAuthorized:
			if id != "" && out[i].ID != id {
				t.Errorf("Authorize #%d = payment %s, want %s", i, out[i].ID, id)
			}
			id = out[i].ID
		case payment.ReasonOf(errs[i]) == payment.ReasonPaymentPending:
		default:
			t.Errorf("Authorize #%d = %v, %v, want AUTHORIZED or PAYMENT_PENDING", i, out[i], errs[i])
		}
	}
	p, err := svc.Authorize(t.Context(), authorizeRequest("same", processor.CardTimeout, eur(3)))
	if err != nil || p.Status != payment.StatusAuthorized || (id != "" && p.ID != id) {
		t.Fatalf("Authorize(after the race) = %+v, %v, want AUTHORIZED", p, err)
	}
	if got := count(t, st, `SELECT COUNT(*) FROM payments`); got != 1 {
		t.Errorf("payments = %d, want 1", got)
	}
	if got := count(t, st, `SELECT COUNT(*) FROM processor_charges`); got != 1 {
		t.Errorf("processor charges = %d, want 1", got)
	}
	wantAudit(t, svc)
}
