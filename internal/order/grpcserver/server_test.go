package grpcserver_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/google/go-cmp/cmp"

	orderv1 "github.com/bazaarhq/bazaar/gen/bazaar/order/v1"
	"github.com/bazaarhq/bazaar/internal/order"
)

func items(kv ...any) *orderv1.PlaceOrderRequest_Items {
	li := &orderv1.LineItems{}
	for i := 0; i < len(kv); i += 2 {
		li.Items = append(li.Items, &orderv1.LineItem{ProductId: kv[i].(string), Quantity: int64(kv[i+1].(int))})
	}
	return &orderv1.PlaceOrderRequest_Items{Items: li}
}

func TestPlaceAndGetOrder(t *testing.T) {
	t.Parallel()
	h := start(t, order.Config{})
	req := &orderv1.PlaceOrderRequest{IdempotencyKey: "k1", CardNumber: cardOK, Source: items("p1", 2, "p2", 1)}
	resp, err := h.client.PlaceOrder(callCtx(t, alice...), req)
	if err != nil {
		t.Fatalf("PlaceOrder() = %v", err)
	}
	o := resp.GetOrder()
	if o.GetStatus() != orderv1.OrderStatus_ORDER_STATUS_COMPLETED || o.GetTotal().GetUnits() != 25 ||
		o.GetStep() != orderv1.SagaStep_SAGA_STEP_DONE || o.GetPaymentId() == "" || o.GetReservationId() != o.GetId() {
		t.Errorf("PlaceOrder() = %v, want a completed order of 25 EUR", o)
	}
	again, err := h.client.PlaceOrder(callCtx(t, alice...), req)
	if err != nil || !proto.Equal(again.GetOrder(), o) {
		t.Errorf("PlaceOrder() again = %v, %v; want the same order", again, err)
	}
	got, err := h.client.GetOrder(callCtx(t, alice...), &orderv1.GetOrderRequest{Id: o.GetId()})
	if err != nil {
		t.Fatalf("GetOrder() = %v", err)
	}
	if diff := cmp.Diff(o, got.GetOrder(), protocmp.Transform()); diff != "" {
		t.Errorf("GetOrder() differs (-placed +got):\n%s", diff)
	}
	if _, err := h.client.GetOrder(callCtx(t, admin...), &orderv1.GetOrderRequest{Id: o.GetId()}); err != nil {
		t.Errorf("GetOrder(admin) = %v", err)
	}
	_, err = h.client.GetOrder(callCtx(t, bob...), &orderv1.GetOrderRequest{Id: o.GetId()})
	wantStatus(t, "GetOrder(bob)", err, codes.NotFound, order.ReasonOrderNotFound)
	_, err = h.client.GetOrder(callCtx(t, alice...), &orderv1.GetOrderRequest{Id: "nope"})
	wantStatus(t, "GetOrder(unknown)", err, codes.NotFound, order.ReasonOrderNotFound)
	_, err = h.client.GetOrder(callCtx(t), &orderv1.GetOrderRequest{Id: o.GetId()})
	wantStatus(t, "GetOrder(anonymous)", err, codes.Unauthenticated, "")
}

func TestPlaceOrderErrors(t *testing.T) {
	t.Parallel()
	h := start(t, order.Config{})
	for _, tt := range []struct {
		name   string
		req    *orderv1.PlaceOrderRequest
		code   codes.Code
		reason string
		fields []string
	}{
		{"no source", &orderv1.PlaceOrderRequest{IdempotencyKey: "k", CardNumber: cardOK}, codes.InvalidArgument, "", []string{"source"}},
		{"bad card", &orderv1.PlaceOrderRequest{IdempotencyKey: "k", CardNumber: "12", Source: items("p1", 1)}, codes.InvalidArgument, "", []string{"card_number"}},
		{"zero quantity", &orderv1.PlaceOrderRequest{IdempotencyKey: "k", CardNumber: cardOK, Source: items("p1", 0)}, codes.InvalidArgument, "", []string{"items.items[0].quantity"}},
		{"twice the product", &orderv1.PlaceOrderRequest{IdempotencyKey: "k", CardNumber: cardOK, Source: items("p1", 1, "p1", 2)}, codes.InvalidArgument, order.ReasonRequestInvalid, []string{"items[1].product_id"}},
		{"inactive product", &orderv1.PlaceOrderRequest{IdempotencyKey: "k", CardNumber: cardOK, Source: items("p3", 1, "p9", 1)}, codes.FailedPrecondition, order.ReasonProductUnavailable, nil},
		{"mixed currencies", &orderv1.PlaceOrderRequest{IdempotencyKey: "k", CardNumber: cardOK, Source: items("p1", 1, "p4", 1)}, codes.InvalidArgument, order.ReasonCurrencyMismatch, []string{"items"}},
		{"empty cart", &orderv1.PlaceOrderRequest{IdempotencyKey: "k", CardNumber: cardOK, Source: &orderv1.PlaceOrderRequest_UseCart{UseCart: true}}, codes.FailedPrecondition, order.ReasonCartEmpty, nil},
	} {
		_, err := h.client.PlaceOrder(callCtx(t, alice...), tt.req)
		d := wantStatus(t, "PlaceOrder("+tt.name+")", err, tt.code, tt.reason, tt.fields...)
		if tt.reason == order.ReasonProductUnavailable && len(d.Preconditions) != 2 {
			t.Errorf("PlaceOrder(%s) preconditions = %v, want one per product", tt.name, d.Preconditions)
		}
	}
	if _, err := h.client.PlaceOrder(callCtx(t, alice...), &orderv1.PlaceOrderRequest{IdempotencyKey: "k2", CardNumber: cardOK, Source: items("p1", 1)}); err != nil {
		t.Fatal(err)
	}
	_, err := h.client.PlaceOrder(callCtx(t, alice...), &orderv1.PlaceOrderRequest{IdempotencyKey: "k2", CardNumber: cardOK, Source: items("p1", 2)})
	wantStatus(t, "PlaceOrder(key reused)", err, codes.InvalidArgument, order.ReasonIdempotencyKeyReused, "idempotency_key")

	resp, err := h.client.PlaceOrder(callCtx(t, alice...), &orderv1.PlaceOrderRequest{IdempotencyKey: "k3", CardNumber: cardDeclined, Source: items("p1", 1)})
	if err != nil || resp.GetOrder().GetStatus() != orderv1.OrderStatus_ORDER_STATUS_CANCELLED ||
		resp.GetOrder().GetCancelReasonCode() != order.ReasonPaymentDeclined {
		t.Errorf("PlaceOrder(declined) = %v, %v; want cancelled PAYMENT_DECLINED", resp, err)
	}
}

func TestCart(t *testing.T) {
	t.Parallel()
	h := start(t, order.Config{})
	ctx := callCtx(t, alice...)
	if _, err := h.client.AddCartItem(ctx, &orderv1.AddCartItemRequest{ProductId: "p1", Quantity: 2}); err != nil {
		t.Fatalf("AddCartItem(p1) = %v", err)
	}
	resp, err := h.client.AddCartItem(ctx, &orderv1.AddCartItemRequest{ProductId: "p2", Quantity: 1})
	if err != nil {
		t.Fatalf("AddCartItem(p2) = %v", err)
	}
	if c := resp.GetCart(); len(c.GetLines()) != 2 || c.GetSubtotal().GetUnits() != 25 || c.GetCustomerId() != "u-alice" {
		t.Errorf("cart = %v, want 2 lines, 25 EUR", c)
	}
	_, err = h.client.AddCartItem(ctx, &orderv1.AddCartItemRequest{ProductId: "p3", Quantity: 1})
	wantStatus(t, "AddCartItem(inactive)", err, codes.FailedPrecondition, order.ReasonProductUnavailable)
	_, err = h.client.AddCartItem(ctx, &orderv1.AddCartItemRequest{ProductId: "p1", Quantity: 999})
	wantStatus(t, "AddCartItem(over 1000)", err, codes.InvalidArgument, order.ReasonRequestInvalid, "quantity")
	_, err = h.client.UpdateCartItem(ctx, &orderv1.UpdateCartItemRequest{ProductId: "p9", Quantity: 1})
	wantStatus(t, "UpdateCartItem(not in cart)", err, codes.NotFound, order.ReasonCartItemNotFound)
	up, err := h.client.UpdateCartItem(ctx, &orderv1.UpdateCartItemRequest{ProductId: "p1", Quantity: 1})
	if err != nil || up.GetCart().GetSubtotal().GetUnits() != 15 {
		t.Errorf("UpdateCartItem() = %v, %v; want a subtotal of 15", up, err)
	}
	rm, err := h.client.RemoveCartItem(ctx, &orderv1.RemoveCartItemRequest{ProductId: "p2"})
	if err != nil || len(rm.GetCart().GetLines()) != 1 {
		t.Errorf("RemoveCartItem() = %v, %v", rm, err)
	}
	if other, err := h.client.GetCart(callCtx(t, bob...), &orderv1.GetCartRequest{}); err != nil || len(other.GetCart().GetLines()) != 0 {
		t.Errorf("GetCart(bob) = %v, %v; want his own empty cart", other, err)
	}
	placed, err := h.client.PlaceOrder(ctx, &orderv1.PlaceOrderRequest{IdempotencyKey: "cart-1", CardNumber: cardOK,
		Source: &orderv1.PlaceOrderRequest_UseCart{UseCart: true}})
	if err != nil || placed.GetOrder().GetTotal().GetUnits() != 10 {
		t.Fatalf("PlaceOrder(cart) = %v, %v", placed, err)
	}
	got, err := h.client.GetCart(ctx, &orderv1.GetCartRequest{})
	if err != nil || len(got.GetCart().GetLines()) != 0 || got.GetCart().GetSubtotal() != nil {
		t.Errorf("GetCart() after checkout = %v, %v; want empty", got, err)
	}
	if _, err := h.client.AddCartItem(ctx, &orderv1.AddCartItemRequest{ProductId: "p1", Quantity: 1}); err != nil {
		t.Fatal(err)
	}
	cleared, err := h.client.ClearCart(ctx, &orderv1.ClearCartRequest{})
	if err != nil || len(cleared.GetCart().GetLines()) != 0 {
		t.Errorf("ClearCart() = %v, %v", cleared, err)
	}
}

func TestListAndCancelOrders(t *testing.T) {
	t.Parallel()
	h := start(t, order.Config{})
	var ids []string
	for _, k := range []string{"k1", "k2", "k3"} {
		resp, err := h.client.PlaceOrder(callCtx(t, alice...), &orderv1.PlaceOrderRequest{IdempotencyKey: k, CardNumber: cardOK, Source: items("p2", 1)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, resp.GetOrder().GetId())
	}
	if _, err := h.client.PlaceOrder(callCtx(t, bob...), &orderv1.PlaceOrderRequest{IdempotencyKey: "k1", CardNumber: cardOK, Source: items("p2", 1)}); err != nil {
		t.Fatal(err)
	}
	var got []string
	token := ""
	for {
		resp, err := h.client.ListOrders(callCtx(t, alice...), &orderv1.ListOrdersRequest{PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatalf("ListOrders() = %v", err)
		}
		for _, o := range resp.GetOrders() {
			got = append(got, o.GetId())
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if want := []string{ids[2], ids[1], ids[0]}; !cmp.Equal(got, want) {
		t.Errorf("ListOrders() = %v, want %v (newest first)", got, want)
	}
	_, err := h.client.ListOrders(callCtx(t, alice...), &orderv1.ListOrdersRequest{All: true})
	wantStatus(t, "ListOrders(all, customer)", err, codes.PermissionDenied, order.ReasonListAllDenied)
	all, err := h.client.ListOrders(callCtx(t, admin...), &orderv1.ListOrdersRequest{All: true})
	if err != nil || len(all.GetOrders()) != 4 {
		t.Errorf("ListOrders(all, admin) = %d orders, %v; want 4", len(all.GetOrders()), err)
	}
	_, err = h.client.ListOrders(callCtx(t, alice...), &orderv1.ListOrdersRequest{PageToken: "garbage"})
	wantStatus(t, "ListOrders(bad token)", err, codes.InvalidArgument, order.ReasonPageTokenInvalid, "page_token")

	_, err = h.client.CancelOrder(callCtx(t, bob...), &orderv1.CancelOrderRequest{Id: ids[0]})
	wantStatus(t, "CancelOrder(bob)", err, codes.NotFound, order.ReasonOrderNotFound)
	resp, err := h.client.CancelOrder(callCtx(t, alice...), &orderv1.CancelOrderRequest{Id: ids[0], Reason: "too slow"})
	if err != nil || resp.GetOrder().GetStatus() != orderv1.OrderStatus_ORDER_STATUS_CANCELLED ||
		resp.GetOrder().GetCancelReasonCode() != order.CancelByCustomer {
		t.Errorf("CancelOrder() = %v, %v; want cancelled by the customer", resp, err)
	}
	done, err := h.client.ListOrders(callCtx(t, alice...), &orderv1.ListOrdersRequest{Status: orderv1.OrderStatus_ORDER_STATUS_CANCELLED})
	if err != nil || len(done.GetOrders()) != 1 {
		t.Errorf("ListOrders(cancelled) = %v, %v", done, err)
	}
}
