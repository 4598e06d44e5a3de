package grpcserver

import (
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/types/known/timestamppb"

	orderv1 "github.com/bazaarhq/bazaar/gen/bazaar/order/v1"
	"github.com/bazaarhq/bazaar/internal/order"
)

func moneyProto(m order.Money) *money.Money {
	return &money.Money{CurrencyCode: m.Currency, Units: m.Units, Nanos: m.Nanos}
}

// optionalTime maps a zero time to an unset timestamp.
func optionalTime(t interface{ IsZero() bool }, ts *timestamppb.Timestamp) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return ts
}

func orderProto(o *order.Order) *orderv1.Order {
	out := &orderv1.Order{
		Id: o.ID, CustomerId: o.CustomerID, Total: moneyProto(o.Total), Status: orderv1.OrderStatus(o.Status),
		Step: orderv1.SagaStep(o.Step), CancelReasonCode: o.CancelCode, CancelReason: o.CancelReason,
		PaymentId: o.PaymentID, ReservationId: o.ReservationID(), CreateTime: timestamppb.New(o.CreateTime),
		UpdateTime: timestamppb.New(o.UpdateTime), CancelRequested: o.CancelRequested,
		Items: make([]*orderv1.OrderItem, 0, len(o.Items)),
	}
	for _, it := range o.Items {
		out.Items = append(out.Items, &orderv1.OrderItem{
			ProductId: it.ProductID, Sku: it.SKU, Title: it.Title, Quantity: it.Quantity, UnitPrice: moneyProto(it.UnitPrice),
		})
	}
	return out
}

func transitionProto(t *order.Transition) *orderv1.OrderTransition {
	return &orderv1.OrderTransition{
		Sequence: t.Sequence, Status: orderv1.OrderStatus(t.Status), Step: orderv1.SagaStep(t.Step), Reason: t.Reason,
		Time: timestamppb.New(t.Time), Order: orderProto(t.Order),
	}
}

func cartProto(c *order.PricedCart) *orderv1.Cart {
	out := &orderv1.Cart{
		CustomerId: c.CustomerID, Lines: make([]*orderv1.CartLine, 0, len(c.Lines)),
		UpdateTime: optionalTime(c.UpdateTime, timestamppb.New(c.UpdateTime)),
	}
	if c.Subtotal.Currency != "" {
		out.Subtotal = moneyProto(c.Subtotal)
	}
	for _, l := range c.Lines {
		line := &orderv1.CartLine{ProductId: l.ProductID, Quantity: l.Quantity, Available: l.Available}
		if l.Available {
			line.Sku, line.Title, line.UnitPrice = l.SKU, l.Title, moneyProto(l.UnitPrice)
		}
		out.Lines = append(out.Lines, line)
	}
	return out
}

func placeRequestOf(req *orderv1.PlaceOrderRequest) order.PlaceRequest {
	r := order.PlaceRequest{IdempotencyKey: req.GetIdempotencyKey(), CardNumber: req.GetCardNumber(), UseCart: req.GetUseCart()}
	for _, it := range req.GetItems().GetItems() {
		r.Items = append(r.Items, order.CartLine{ProductID: it.GetProductId(), Quantity: it.GetQuantity()})
	}
	return r
}
