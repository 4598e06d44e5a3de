package payment_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bazaarhq/bazaar/internal/payment"
	"github.com/bazaarhq/bazaar/internal/payment/processor"
	"github.com/bazaarhq/bazaar/internal/payment/store"
)

// Example wires the payment service as cmd/bazaar does: a store (on
// Postgres: store.Open(ctx, url, sqldb.WithSchema("payment"))), the
// simulated processor on the store's database, the Service. Serve it with
// grpcserver.Register(srv, svc) and run svc.RunMaintenance in a goroutine.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "payment-example")
	if err != nil {
		panic(err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "payment.db"))
	if err != nil {
		panic(err)
	}
	defer func() { _ = st.Close() }()
	proc, err := processor.New(st.DB(), processor.Config{})
	if err != nil {
		panic(err)
	}
	svc, err := payment.New(st, proc, payment.Config{})
	if err != nil {
		panic(err)
	}

	amount, _ := payment.MoneyOf("EUR", 19, 990_000_000)
	p, err := svc.Authorize(ctx, payment.AuthorizeRequest{
		IdempotencyKey: "order-42/authorize", OrderID: "order-42", CustomerID: "alice", Amount: amount,
		Card: processor.CardSuccess,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Status, p.Amount, p.CardBrand, p.CardLast4)
	p, err = svc.Capture(ctx, "order-42/capture", p.ID, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Status, p.CapturedAmount)
	_, err = svc.Authorize(ctx, payment.AuthorizeRequest{
		IdempotencyKey: "order-43/authorize", OrderID: "order-43", CustomerID: "bob", Amount: amount,
		Card: processor.CardInsufficientFunds,
	})
	fmt.Println(payment.ReasonOf(err))
	a, _ := svc.Audit(ctx)
	fmt.Println(a)
	// Output:
	// authorized EUR 19.99 visa 4242
	// captured EUR 19.99
	// PAYMENT_DECLINED
	// audit: ok
}
