package payment_test

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/payment"
	"github.com/bazaarhq/bazaar/internal/payment/processor"
	"github.com/bazaarhq/bazaar/internal/payment/store"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is a Service over a fresh SQLite store and the simulated processor
// (the store contract itself is tested on both engines in
// internal/payment/store).
type env struct {
	svc   *payment.Service
	store *store.Store
	clock *clock
}

func newEnv(t testing.TB, cfg payment.Config) *env {
	t.Helper()
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "payment.db"))
	if err != nil {
		t.Fatalf("store.Open() = %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	c := &clock{now: t0}
	proc, err := processor.New(st.DB(), processor.Config{Clock: c.Now})
	if err != nil {
		t.Fatalf("processor.New() = %v", err)
	}
	cfg.Clock = c.Now
	if cfg.ProcessorBackoff == 0 {
		cfg.ProcessorBackoff = time.Millisecond
	}
	svc, err := payment.New(st, proc, cfg)
	if err != nil {
		t.Fatalf("payment.New() = %v", err)
	}
	return &env{svc: svc, store: st, clock: c}
}

func eur(units int64) payment.Money {
	return payment.Money{Currency: "EUR", Nanos: units * payment.NanosPerUnit}
}

func request(key, card string) payment.AuthorizeRequest {
	return payment.AuthorizeRequest{IdempotencyKey: key, OrderID: "o-" + key, CustomerID: "c-1", Amount: eur(10), Card: payment.CardNumber(card)}
}

// wantErr fails unless err is an *errs.Error of kind and reason.
func wantErr(t testing.TB, call string, err error, kind errs.Kind, reason string) *errs.Error {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != kind || e.Reason != reason {
		t.Fatalf("%s = %v, want %v %s", call, err, kind, reason)
	}
	return e
}

func errorsAs(err error, target **errs.Error) bool { return errors.As(err, target) }
