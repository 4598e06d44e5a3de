package grpcserver_test

import (
	"errors"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	orderv1 "github.com/bazaarhq/bazaar/gen/bazaar/order/v1"
	"github.com/bazaarhq/bazaar/internal/order"
)

// watchAll reads the stream to its end and returns the transitions'
// sequences and statuses.
func watchAll(t *testing.T, stream interface {
	Recv() (*orderv1.WatchOrderResponse, error)
}) ([]int64, []orderv1.OrderStatus, error) {
	t.Helper()
	var (
		seqs     []int64
		statuses []orderv1.OrderStatus
	)
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return seqs, statuses, nil
		}
		if err != nil {
			return seqs, statuses, err
		}
		tr := resp.GetTransition()
		if tr.GetOrder().GetId() == "" || tr.GetTime() == nil {
			t.Errorf("transition %d has no order snapshot or time", tr.GetSequence())
		}
		seqs = append(seqs, tr.GetSequence())
		statuses = append(statuses, tr.GetStatus())
	}
}

func TestWatchOrder(t *testing.T) {
	t.Parallel()
	h := start(t, order.Config{PlaceOrderWait: 50 * time.Millisecond})
	// Captures wait for the gate: the order stays pending at CAPTURE_PAYMENT
	// until the test opens it, while a watcher is connected.
	gate := make(chan struct{})
	h.pay.mu.Lock()
	h.pay.gate = gate
	h.pay.mu.Unlock()
	resp, err := h.client.PlaceOrder(callCtx(t, alice...), &orderv1.PlaceOrderRequest{IdempotencyKey: "k1", CardNumber: cardOK, Source: items("p1", 1)})
	if err != nil {
		t.Fatalf("PlaceOrder() = %v", err)
	}
	o := resp.GetOrder()
	if o.GetStatus() != orderv1.OrderStatus_ORDER_STATUS_PENDING {
		t.Fatalf("PlaceOrder() = %v, want pending while the capture waits", o.GetStatus())
	}

	stream, err := h.client.WatchOrder(callCtx(t, alice...), &orderv1.WatchOrderRequest{Id: o.GetId()})
	if err != nil {
		t.Fatalf("WatchOrder() = %v", err)
	}
	if _, err := stream.Header(); err != nil {
		t.Fatalf("WatchOrder().Header() = %v", err)
	}
	first, err := stream.Recv()
	if err != nil || first.GetTransition().GetSequence() != 1 {
		t.Fatalf("first transition = %v, %v; want sequence 1", first, err)
	}
	close(gate)
	seqs, statuses, err := watchAll(t, stream)
	if err != nil {
		t.Fatalf("WatchOrder() ended with %v", err)
	}
	if want := []int64{2, 3, 4, 5}; !equal(seqs, want) {
		t.Errorf("sequences = %v, want %v", seqs, want)
	}
	if len(statuses) == 0 || statuses[len(statuses)-1] != orderv1.OrderStatus_ORDER_STATUS_COMPLETED {
		t.Errorf("statuses = %v, want the last completed", statuses)
	}

	// Resuming after sequence 3 sends 4 and 5, then ends.
	resumed, err := h.client.WatchOrder(callCtx(t, alice...), &orderv1.WatchOrderRequest{Id: o.GetId(), AfterSequence: 3})
	if err != nil {
		t.Fatal(err)
	}
	if seqs, _, err := watchAll(t, resumed); err != nil || !equal(seqs, []int64{4, 5}) {
		t.Errorf("resumed after 3 = %v, %v; want [4 5]", seqs, err)
	}
	// Watching a completed order after its last transition ends at once.
	ended, err := h.client.WatchOrder(callCtx(t, alice...), &orderv1.WatchOrderRequest{Id: o.GetId(), AfterSequence: 5})
	if err != nil {
		t.Fatal(err)
	}
	if seqs, _, err := watchAll(t, ended); err != nil || len(seqs) != 0 {
		t.Errorf("watch after the end = %v, %v; want nothing and OK", seqs, err)
	}

	other, err := h.client.WatchOrder(callCtx(t, bob...), &orderv1.WatchOrderRequest{Id: o.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = other.Recv()
	wantStatus(t, "WatchOrder(bob)", err, codes.NotFound, order.ReasonOrderNotFound)
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
