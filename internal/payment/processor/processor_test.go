package processor_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bazaarhq/bazaar/internal/payment"
	"github.com/bazaarhq/bazaar/internal/payment/processor"
	"github.com/bazaarhq/bazaar/internal/payment/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newProcessor(t *testing.T, cfg processor.Config) *processor.Processor {
	t.Helper()
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "payment.db"))
	if err != nil {
		t.Fatalf("store.Open() = %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	p, err := processor.New(st.DB(), cfg)
	if err != nil {
		t.Fatalf("processor.New() = %v", err)
	}
	return p
}

var ten = payment.Money{Currency: "EUR", Nanos: 10 * payment.NanosPerUnit}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	if _, err := processor.New(nil, processor.Config{}); err == nil {
		t.Error("New(nil) = nil error, want an error")
	}
}

func TestAuthorizeOutcomes(t *testing.T) {
	t.Parallel()
	p := newProcessor(t, processor.Config{})
	ctx := t.Context()
	c, err := p.Authorize(ctx, "r1", processor.CardSuccess, ten)
	if err != nil || c.Status != payment.ChargeAuthorized || c.ID == "" || c.Amount != ten {
		t.Fatalf("Authorize(success) = %+v, %v", c, err)
	}
	again, err := p.Authorize(ctx, "r1", processor.CardSuccess, ten)
	if err != nil || again != c {
		t.Errorf("Authorize(repeat) = %+v, %v, want the first charge %+v", again, err, c)
	}
	for card, code := range map[payment.CardNumber]string{
		processor.CardDeclined: processor.DeclineGeneric, processor.CardInsufficientFunds: processor.DeclineInsufficientFunds,
	} {
		_, err := p.Authorize(ctx, "r-"+string(card), card, ten)
		var d *payment.DeclineError
		if !errors.As(err, &d) || d.Code != code {
			t.Errorf("Authorize(%s) = %v, want decline %s", card, err, code)
		}
		if c, ok, _ := p.Lookup(ctx, "r-"+string(card)); !ok || c.Status != payment.ChargeDeclined {
			t.Errorf("Lookup(declined) = %+v, %v, want a declined charge", c, ok)
		}
	}
	if _, err := p.Authorize(ctx, "r-timeout", processor.CardTimeout, ten); !errors.Is(err, payment.ErrProcessorTimeout) {
		t.Errorf("Authorize(timeout card) = %v, want ErrProcessorTimeout", err)
	}
	if c, ok, err := p.Lookup(ctx, "r-timeout"); err != nil || !ok || c.Status != payment.ChargeAuthorized {
		t.Errorf("Lookup(timed out) = %+v, %v, %v, want an authorization", c, ok, err)
	}
	for i := range 2 {
		if _, err := p.Authorize(ctx, "r-flaky", processor.CardTransient, ten); !errors.Is(err, payment.ErrProcessorUnavailable) {
			t.Errorf("Authorize(transient) attempt %d = %v, want ErrProcessorUnavailable", i+1, err)
		}
	}
	if c, err := p.Authorize(ctx, "r-flaky", processor.CardTransient, ten); err != nil || c.Status != payment.ChargeAuthorized {
		t.Errorf("Authorize(transient) attempt 3 = %+v, %v, want an authorization", c, err)
	}
	if _, ok, err := p.Lookup(ctx, "unknown"); ok || err != nil {
		t.Errorf("Lookup(unknown) = %v, %v, want not found", ok, err)
	}
}

func TestCaptureVoidRefund(t *testing.T) {
	t.Parallel()
	p := newProcessor(t, processor.Config{})
	ctx := t.Context()
	if _, err := p.Authorize(ctx, "r", processor.CardSuccess, ten); err != nil {
		t.Fatal(err)
	}
	eleven := payment.Money{Currency: "EUR", Nanos: ten.Nanos + 1}
	if _, err := p.Capture(ctx, "r", eleven); !errors.Is(err, payment.ErrProcessorRejected) {
		t.Errorf("Capture(above authorized) = %v, want ErrProcessorRejected", err)
	}
	c, err := p.Capture(ctx, "r", ten)
	if err != nil || c.Status != payment.ChargeCaptured || c.Captured != ten {
		t.Fatalf("Capture() = %+v, %v", c, err)
	}
	if again, err := p.Capture(ctx, "r", ten); err != nil || again != c {
		t.Errorf("Capture(repeat) = %+v, %v, want %+v", again, err, c)
	}
	if _, err := p.Void(ctx, "r"); !errors.Is(err, payment.ErrProcessorRejected) {
		t.Errorf("Void(captured) = %v, want ErrProcessorRejected", err)
	}
	four := payment.Money{Currency: "EUR", Nanos: 4 * payment.NanosPerUnit}
	for range 2 { // the second is a repeat of the same refund
		if c, err = p.Refund(ctx, "r", "rf1", four); err != nil || c.Refunded != four {
			t.Fatalf("Refund(4) = %+v, %v, want 4 refunded", c, err)
		}
	}
	if _, err := p.Refund(ctx, "r", "rf2", payment.Money{Currency: "EUR", Nanos: 7 * payment.NanosPerUnit}); !errors.Is(err, payment.ErrProcessorRejected) {
		t.Errorf("Refund(7 of 6 left) = %v, want ErrProcessorRejected", err)
	}
	// Voiding an unknown reference closes it: a late authorization fails.
	if c, err := p.Void(ctx, "late"); err != nil || c.Status != payment.ChargeVoided {
		t.Errorf("Void(unknown) = %+v, %v, want voided", c, err)
	}
	if c, err := p.Authorize(ctx, "late", processor.CardSuccess, ten); err != nil || c.Status != payment.ChargeVoided {
		t.Errorf("Authorize(after void) = %+v, %v, want the voided record", c, err)
	}
	if _, err := p.Capture(ctx, "nothing", ten); !errors.Is(err, payment.ErrProcessorRejected) {
		t.Errorf("Capture(unknown) = %v, want ErrProcessorRejected", err)
	}
}

func TestLatencyHonoursTheDeadline(t *testing.T) {
	t.Parallel()
	p := newProcessor(t, processor.Config{Latency: time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := p.Authorize(ctx, "r", processor.CardSuccess, ten); !errors.Is(err, payment.ErrProcessorTimeout) {
		t.Errorf("Authorize(slow) = %v, want ErrProcessorTimeout", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Authorize(slow) took %v, want about the 10ms deadline", d)
	}
}
