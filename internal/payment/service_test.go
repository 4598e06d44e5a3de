package payment_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/payment"
	"github.com/bazaarhq/bazaar/internal/payment/processor"
	"github.com/bazaarhq/bazaar/internal/payment/store"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// stubStore and stubProcessor are for tests that only construct a Service.
type (
	stubStore     struct{ payment.Store }
	stubProcessor struct{ payment.Processor }
)

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	if _, err := payment.New(nil, stubProcessor{}, payment.Config{}); err == nil {
		t.Error("New(nil store) = nil error, want an error")
	}
	if _, err := payment.New(stubStore{}, nil, payment.Config{}); err == nil {
		t.Error("New(nil processor) = nil error, want an error")
	}
	for _, cfg := range []payment.Config{
		{ProcessorAttempts: -1},
		{ProcessorTimeout: 20 * time.Second, Lease: 30 * time.Second},
		{IdempotencyRetention: time.Hour},
		{Batch: -1},
		{RetryAfter: -time.Second},
	} {
		if _, err := payment.New(stubStore{}, stubProcessor{}, cfg); err == nil {
			t.Errorf("New(%+v) = nil error, want an error", cfg)
		}
	}
	if _, err := payment.New(stubStore{}, stubProcessor{}, payment.Config{}); err != nil {
		t.Errorf("New(Config{}) = %v, want the defaults to be valid", err)
	}
}

func TestAuthorizeValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, payment.Config{})
	for _, tc := range []struct {
		name   string
		change func(r *payment.AuthorizeRequest)
		reason string
		field  string
	}{
		{"no key", func(r *payment.AuthorizeRequest) { r.IdempotencyKey = "" }, payment.ReasonRequestInvalid, "idempotency_key"},
		{"long key", func(r *payment.AuthorizeRequest) { r.IdempotencyKey = strings.Repeat("k", 65) }, payment.ReasonRequestInvalid, "idempotency_key"},
		{"no order", func(r *payment.AuthorizeRequest) { r.OrderID = "" }, payment.ReasonRequestInvalid, "order_id"},
		{"no customer", func(r *payment.AuthorizeRequest) { r.CustomerID = "" }, payment.ReasonRequestInvalid, "customer_id"},
		{"zero amount", func(r *payment.AuthorizeRequest) { r.Amount = eur(0) }, payment.ReasonRequestInvalid, "amount"},
		{"negative amount", func(r *payment.AuthorizeRequest) { r.Amount.Nanos = -1 }, payment.ReasonRequestInvalid, "amount"},
		{"huge amount", func(r *payment.AuthorizeRequest) { r.Amount = eur(payment.MaxUnits + 1) }, payment.ReasonRequestInvalid, "amount"},
		{"bad currency", func(r *payment.AuthorizeRequest) { r.Amount.Currency = "euro" }, payment.ReasonRequestInvalid, "amount"},
		{"bad check digit", func(r *payment.AuthorizeRequest) { r.Card = "4242424242424241" }, payment.ReasonCardInvalid, "card_number"},
		{"letters", func(r *payment.AuthorizeRequest) { r.Card = "4242abcd42424242" }, payment.ReasonCardInvalid, "card_number"},
	} {
		r := request("k-"+tc.name, processor.CardSuccess)
		tc.change(&r)
		_, err := e.svc.Authorize(t.Context(), r)
		got := wantErr(t, "Authorize("+tc.name+")", err, errs.InvalidArgument, tc.reason)
		if d := errs.FromError(errs.ToStatus(got).Err()); len(d.FieldViolations) != 1 || d.FieldViolations[0].Field != tc.field {
			t.Errorf("Authorize(%s) field violations = %v, want %s", tc.name, d.FieldViolations, tc.field)
		}
	}
}

func TestProcessorUnavailableStoresNothing(t *testing.T) {
	t.Parallel()
	// Two attempts per call: the transient card fails both, then its third
	// attempt (the caller's retry) succeeds.
	e := newEnv(t, payment.Config{ProcessorAttempts: 2})
	r := request("k", processor.CardTransient)
	_, err := e.svc.Authorize(t.Context(), r)
	got := wantErr(t, "Authorize(transient, 2 attempts)", err, errs.Unavailable, payment.ReasonProcessorUnavailable)
	if d := errs.FromError(errs.ToStatus(got).Err()); d.RetryDelay <= 0 {
		t.Errorf("PROCESSOR_UNAVAILABLE has no RetryInfo: %+v", d)
	}
	p, err := e.svc.Authorize(t.Context(), r)
	if err != nil || p.Status != payment.StatusAuthorized {
		t.Fatalf("Authorize(retry) = %+v, %v, want AUTHORIZED", p, err)
	}
	// Captures fail twice too: the first call gives up, the retry succeeds.
	_, err = e.svc.Capture(t.Context(), "c", p.ID, nil)
	wantErr(t, "Capture(transient, 2 attempts)", err, errs.Unavailable, payment.ReasonProcessorUnavailable)
	if p, err = e.svc.Capture(t.Context(), "c", p.ID, nil); err != nil || p.Status != payment.StatusCaptured {
		t.Fatalf("Capture(retry) = %+v, %v, want CAPTURED", p, err)
	}
	if a, err := e.svc.Audit(t.Context()); err != nil || !a.OK() {
		t.Errorf("Audit() = %v, %v", a, err)
	}
}

func TestPendingPaymentRefusesOperations(t *testing.T) {
	t.Parallel()
	e := newEnv(t, payment.Config{})
	_, err := e.svc.Authorize(t.Context(), request("t", processor.CardTimeout))
	id := wantErr(t, "Authorize(timeout)", err, errs.Unavailable, payment.ReasonPaymentPending).Metadata["payment_id"]
	_, err = e.svc.Capture(t.Context(), "c", id, nil)
	wantErr(t, "Capture(pending)", err, errs.FailedPrecondition, payment.ReasonPaymentState)
	_, err = e.svc.Void(t.Context(), "v", id)
	wantErr(t, "Void(pending)", err, errs.FailedPrecondition, payment.ReasonPaymentState)
}

func TestTakeOverFromCrashedOwner(t *testing.T) {
	t.Parallel()
	e := newEnv(t, payment.Config{})
	r := request("k", processor.CardSuccess)
	// Another process claimed the key, then died before calling the
	// processor. A retry waits for its lease, then takes over.
	p := &payment.Payment{
		ID: "p1", OrderID: r.OrderID, CustomerID: r.CustomerID, Amount: r.Amount, CapturedAmount: eur(0),
		RefundedAmount: eur(0), Status: payment.StatusPending, CardBrand: "visa", CardLast4: "4242", CreateTime: t0, UpdateTime: t0,
	}
	first := func() []byte {
		// The fingerprint of r, as the first call stored it: learn it from a
		// claim on another store.
		other, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "other.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = other.Close() }()
		proc, _ := processor.New(other.DB(), processor.Config{})
		svc, _ := payment.New(other, proc, payment.Config{})
		if _, err := svc.Authorize(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		op, err := other.Operation(t.Context(), payment.MethodAuthorize, r.IdempotencyKey)
		if err != nil {
			t.Fatal(err)
		}
		return op.Fingerprint
	}()
	op := &payment.Operation{Method: payment.MethodAuthorize, Key: r.IdempotencyKey, Fingerprint: first, PaymentID: p.ID,
		LeaseUntil: t0.Add(payment.DefaultLease), CreateTime: t0}
	if _, err := e.store.ClaimAuthorize(t.Context(), op, p); err != nil {
		t.Fatal(err)
	}
	// The deadline leaves the claim's transaction ample time on a loaded
	// machine; the wait for the owner then outlasts it.
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err := e.svc.Authorize(ctx, r)
	wantErr(t, "Authorize(while the owner's lease lasts)", err, errs.Unavailable, payment.ReasonRequestInProgress)
	e.clock.Advance(payment.DefaultLease)
	got, err := e.svc.Authorize(t.Context(), r)
	if err != nil || got.ID != p.ID || got.Status != payment.StatusAuthorized {
		t.Fatalf("Authorize(after the lease) = %+v, %v, want %s AUTHORIZED", got, err, p.ID)
	}
}

func TestConcurrentCallersWaitForTheFirst(t *testing.T) {
	t.Parallel()
	// A slow processor: the followers wait for the first call's answer.
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "payment.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	proc, err := processor.New(st.DB(), processor.Config{Latency: 30 * time.Millisecond, Jitter: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := payment.New(st, proc, payment.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg  sync.WaitGroup
		ids sync.Map
	)
	for range 10 {
		wg.Go(func() {
			_, err := svc.Authorize(t.Context(), request("same", processor.CardDeclined))
			var e *errs.Error
			if !errorsAs(err, &e) || e.Reason != payment.ReasonPaymentDeclined {
				t.Errorf("Authorize(declined) = %v, want PAYMENT_DECLINED", err)
				return
			}
			ids.Store(e.Metadata["payment_id"], true)
		})
	}
	wg.Wait()
	n := 0
	ids.Range(func(any, any) bool { n++; return true })
	if n != 1 {
		t.Errorf("%d payment ids answered, want 1", n)
	}
}

func TestEventsCarryTheChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t, payment.Config{})
	p, err := e.svc.Authorize(t.Context(), request("k", processor.CardSuccess))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Capture(t.Context(), "c", p.ID, nil); err != nil {
		t.Fatal(err)
	}
	events, err := e.store.DB().ReadEvents(t.Context(), 0, 10)
	if err != nil || len(events) != 2 {
		t.Fatalf("ReadEvents() = %d events, %v, want 2", len(events), err)
	}
	c, err := payment.DecodeChange(events[1].Payload)
	if err != nil {
		t.Fatal(err)
	}
	if events[1].Topic != payment.TopicCaptured || events[1].AggregateID != p.ID || c.Status != "captured" ||
		c.Moved == nil || *c.Moved != eur(10) || c.OrderID != p.OrderID {
		t.Errorf("capture event = %s %s %+v, want payment.captured.v1 of %s moving EUR 10", events[1].Topic,
			events[1].AggregateID, c, p.ID)
	}
}

func TestRunMaintenance(t *testing.T) {
	t.Parallel()
	e := newEnv(t, payment.Config{})
	if err := e.svc.RunMaintenance(t.Context(), 0); err == nil {
		t.Error("RunMaintenance(0) = nil, want an error")
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.svc.RunMaintenance(ctx, time.Millisecond) }()
	time.Sleep(5 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("RunMaintenance() = %v, want nil when ctx ends", err)
	}
}

func TestReconcileFinishesACrashedCapture(t *testing.T) {
	t.Parallel()
	e := newEnv(t, payment.Config{})
	p, err := e.svc.Authorize(t.Context(), request("a", processor.CardSuccess))
	if err != nil {
		t.Fatal(err)
	}
	// A capture claimed by a process that died before (or while) calling
	// the processor: the payment is busy until Reconcile repeats it.
	op := &payment.Operation{Method: payment.MethodCapture, Key: "c", Fingerprint: []byte{1}, PaymentID: p.ID,
		LeaseUntil: t0.Add(time.Second), CreateTime: t0}
	existing, err := e.store.ClaimOperation(t.Context(), op, func(p *payment.Payment, _ *payment.Operation) error {
		op.Amount = p.Amount
		return nil
	})
	if err != nil || existing != nil {
		t.Fatalf("ClaimOperation() = %v, %v", existing, err)
	}
	_, err = e.svc.Refund(t.Context(), "r", p.ID, nil)
	wantErr(t, "Refund(busy payment)", err, errs.Aborted, payment.ReasonPaymentBusy)
	e.clock.Advance(time.Hour)
	if n, err := e.svc.Reconcile(t.Context()); err != nil || n != 1 {
		t.Fatalf("Reconcile() = %d, %v, want 1", n, err)
	}
	got, err := e.svc.GetPayment(t.Context(), p.ID)
	if err != nil || got.Status != payment.StatusCaptured || got.CapturedAmount != eur(10) {
		t.Fatalf("GetPayment() = %+v, %v, want CAPTURED 10", got, err)
	}
	if a, err := e.svc.Audit(t.Context()); err != nil || !a.OK() {
		t.Errorf("Audit() = %v, %v", a, err)
	}
}

// lostAnswers is the simulated processor with a flaky network in front of
// it: the next `lose` captures and refunds are performed, but their answer
// is lost (the caller sees a timeout).
type lostAnswers struct {
	*processor.Processor
	mu   sync.Mutex
	lose int
}

func (l *lostAnswers) lost(c payment.Charge, err error) (payment.Charge, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil && l.lose > 0 {
		l.lose--
		return payment.Charge{}, payment.ErrProcessorTimeout
	}
	return c, err
}

func (l *lostAnswers) Capture(ctx context.Context, ref string, amount payment.Money) (payment.Charge, error) {
	return l.lost(l.Processor.Capture(ctx, ref, amount))
}

func (l *lostAnswers) Refund(ctx context.Context, ref, refundRef string, amount payment.Money) (payment.Charge, error) {
	return l.lost(l.Processor.Refund(ctx, ref, refundRef, amount))
}

func TestLostCaptureAndRefundAnswers(t *testing.T) {
	t.Parallel()
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "payment.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	clk := &clock{now: t0}
	sim, err := processor.New(st.DB(), processor.Config{Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	proc := &lostAnswers{Processor: sim}
	svc, err := payment.New(st, proc, payment.Config{Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Authorize(t.Context(), request("a", processor.CardSuccess))
	if err != nil {
		t.Fatal(err)
	}
	proc.lose = 1
	_, err = svc.Capture(t.Context(), "c", p.ID, nil)
	wantErr(t, "Capture(answer lost)", err, errs.Unavailable, payment.ReasonPaymentPending)
	// No state change before the processor confirms; the payment is busy.
	if got, _ := svc.GetPayment(t.Context(), p.ID); got.Status != payment.StatusAuthorized {
		t.Errorf("payment after a lost capture answer is %v, want still authorized", got.Status)
	}
	_, err = svc.Void(t.Context(), "v", p.ID)
	wantErr(t, "Void(during an unfinished capture)", err, errs.Aborted, payment.ReasonPaymentBusy)
	// The retry with the key repeats the capture (once at the processor).
	got, err := svc.Capture(t.Context(), "c", p.ID, nil)
	if err != nil || got.Status != payment.StatusCaptured {
		t.Fatalf("Capture(retry) = %+v, %v, want CAPTURED", got, err)
	}
	// A lost refund answer nobody retries: Reconcile records it.
	proc.lose = 1
	_, err = svc.Refund(t.Context(), "r", p.ID, nil)
	wantErr(t, "Refund(answer lost)", err, errs.Unavailable, payment.ReasonPaymentPending)
	clk.Advance(time.Hour)
	if n, err := svc.Reconcile(t.Context()); err != nil || n != 1 {
		t.Fatalf("Reconcile() = %d, %v, want 1", n, err)
	}
	if got, _ := svc.GetPayment(t.Context(), p.ID); got.Status != payment.StatusRefunded {
		t.Errorf("payment after reconciliation is %v, want refunded", got.Status)
	}
	if a, err := svc.Audit(t.Context()); err != nil || !a.OK() {
		t.Errorf("Audit() = %v, %v", a, err)
	}
}
