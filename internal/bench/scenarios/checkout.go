package scenarios

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	orderv1 "github.com/bazaarhq/bazaar/gen/bazaar/order/v1"
)

// GoodCard is the simulated processor's card that always pays.
const GoodCard = "4242424242424242"

// checkoutProducts is how many stocked products checkout spreads its
// orders over (issue 5's load: 50).
const checkoutProducts = 50

// checkout places orders of 1-3 random products with the good card, each
// worker a customer of its own: the whole saga (reserve, authorize,
// commit, capture) across identity, catalog, payment and order.
type checkout struct {
	*shopper
	orders   []orderv1.OrderServiceClient // one per connection (Env.Conns)
	products []string
	buyers   []string
	rngs     []*rand.Rand
}

func newCheckout(ctx context.Context, env Env) (*checkout, error) {
	s, err := newShopper(env)
	if err != nil {
		return nil, err
	}
	c := &checkout{shopper: s}
	if err := c.setup(ctx); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

func (c *checkout) setup(ctx context.Context) error {
	ccs, err := c.pool("order")
	if err != nil {
		return err
	}
	c.orders = clientsOf(ccs, orderv1.NewOrderServiceClient)
	token, err := c.adminToken(ctx)
	if err != nil {
		return err
	}
	admin := bearer(ctx, token)
	for i := range checkoutProducts {
		id, err := c.stockedProduct(admin, fmt.Sprintf("C%03d", i), int64(5+i%20), 10_000_000)
		if err != nil {
			return err
		}
		c.products = append(c.products, id)
	}
	tokens, err := c.signUpMany(ctx, c.env.Workers, "buyer")
	if err != nil {
		return err
	}
	for i, t := range tokens {
		c.buyers = append(c.buyers, t)
		c.rngs = append(c.rngs, rand.New(rand.NewPCG(uint64(i), 5))) //nolint:gosec // load mix
	}
	c.env.logf("checkout: %d stocked products, %d buyers", len(c.products), len(c.buyers))
	return nil
}

func (*checkout) Name() string { return "checkout" }

func (c *checkout) Do(ctx context.Context, w int) (time.Duration, error) {
	rng := c.rngs[w%len(c.rngs)]
	var items []*orderv1.LineItem
	for _, p := range rng.Perm(len(c.products))[:1+rng.IntN(3)] {
		items = append(items, &orderv1.LineItem{ProductId: c.products[p], Quantity: 1})
	}
	_, err := placeOrder(bearer(ctx, c.buyers[w%len(c.buyers)]), c.orders[w%len(c.orders)], items)
	return 0, err
}

// placeOrder places items with the good card and wants it COMPLETED.
func placeOrder(ctx context.Context, orders orderv1.OrderServiceClient, items []*orderv1.LineItem) (*orderv1.Order, error) {
	resp, err := orders.PlaceOrder(ctx, &orderv1.PlaceOrderRequest{
		IdempotencyKey: uuid.NewString(), CardNumber: GoodCard,
		Source: &orderv1.PlaceOrderRequest_Items{Items: &orderv1.LineItems{Items: items}},
	})
	if err != nil {
		return nil, err
	}
	if st := resp.GetOrder().GetStatus(); st != orderv1.OrderStatus_ORDER_STATUS_COMPLETED {
		return nil, notCompletedError{st, resp.GetOrder().GetCancelReasonCode()}
	}
	return resp.GetOrder(), nil
}

// notCompletedError is an order the saga did not complete: counted as
// Aborted.
type notCompletedError struct {
	status orderv1.OrderStatus
	reason string
}

func (e notCompletedError) Error() string {
	return fmt.Sprintf("order %v (%s), want COMPLETED", e.status, e.reason)
}

// GRPCStatus makes it count as Aborted.
func (e notCompletedError) GRPCStatus() *status.Status { return status.New(codes.Aborted, e.Error()) }
