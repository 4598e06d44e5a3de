package remote

import (
	"context"

	"google.golang.org/grpc/codes"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
	"github.com/bazaarhq/bazaar/internal/order"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// maxBatch is the most ids BatchGetProducts takes.
const maxBatch = 100

// Catalog implements order.Inventory over the catalog's gRPC API. The
// client's principal must be the order service (the reservation methods
// admit services: ["order"]).
type Catalog struct {
	client catalogv1.CatalogServiceClient
}

var _ order.Inventory = (*Catalog)(nil)

// NewCatalog returns the adapter over client (one per process, on the
// catalog's ClientConn from grpcx.NewClient).
func NewCatalog(client catalogv1.CatalogServiceClient) *Catalog { return &Catalog{client: client} }

// catalogReasons are the catalog's reasons, by the domain's name (they
// are the same strings; listed so that a rename shows here).
var catalogReasons = map[string]string{
	"INSUFFICIENT_STOCK":    order.ReasonInsufficientStock,
	"RESERVATION_CLOSED":    order.ReasonReservationClosed,
	"RESERVATION_NOT_FOUND": order.ReasonReservationNotFound,
}

// Products implements order.Inventory: one BatchGetProducts per 100 ids.
func (c *Catalog) Products(ctx context.Context, ids []string) ([]order.Product, error) {
	out := make([]order.Product, 0, len(ids))
	for start := 0; start < len(ids); start += maxBatch {
		resp, err := c.client.BatchGetProducts(ctx, &catalogv1.BatchGetProductsRequest{Ids: ids[start:min(start+maxBatch, len(ids))]})
		if err != nil {
			return nil, classify(err, catalogReasons)
		}
		for _, p := range resp.GetProducts() {
			price := p.GetPrice()
			out = append(out, order.Product{
				ID: p.GetId(), SKU: p.GetSku(), Title: p.GetTitle(),
				Price:  order.Money{Currency: price.GetCurrencyCode(), Units: price.GetUnits(), Nanos: price.GetNanos()},
				Active: p.GetStatus() == catalogv1.ProductStatus_PRODUCT_STATUS_ACTIVE,
			})
		}
	}
	return out, nil
}

// Reserve implements order.Inventory. A repeated reservation id answers
// with the reservation as it is: a released or expired one is
// RESERVATION_CLOSED.
func (c *Catalog) Reserve(ctx context.Context, reservationID string, items []order.StockItem) error {
	req := &catalogv1.ReserveStockRequest{ReservationId: reservationID, Items: make([]*catalogv1.ReservationItem, 0, len(items))}
	for _, it := range items {
		req.Items = append(req.Items, &catalogv1.ReservationItem{Sku: it.SKU, Quantity: it.Quantity})
	}
	resp, err := c.client.ReserveStock(ctx, req)
	if err != nil {
		return classify(err, catalogReasons)
	}
	switch resp.GetReservation().GetState() {
	case catalogv1.ReservationState_RESERVATION_STATE_RESERVED, catalogv1.ReservationState_RESERVATION_STATE_COMMITTED:
		return nil
	default:
		return order.Permanent(order.ReasonReservationClosed,
			"the reservation is "+resp.GetReservation().GetState().String(), nil)
	}
}

// Commit implements order.Inventory.
func (c *Catalog) Commit(ctx context.Context, reservationID string) error {
	if _, err := c.client.CommitReservation(ctx, &catalogv1.CommitReservationRequest{ReservationId: reservationID}); err != nil {
		return classify(err, catalogReasons)
	}
	return nil
}

// Release implements order.Inventory: an unknown reservation holds
// nothing, so releasing it succeeds.
func (c *Catalog) Release(ctx context.Context, reservationID string) error {
	_, err := c.client.ReleaseReservation(ctx, &catalogv1.ReleaseReservationRequest{ReservationId: reservationID})
	if err == nil || errs.FromError(err).Code == codes.NotFound {
		return nil
	}
	return classify(err, catalogReasons)
}

// Return implements order.Inventory.
func (c *Catalog) Return(ctx context.Context, reservationID string) error {
	if _, err := c.client.ReturnReservation(ctx, &catalogv1.ReturnReservationRequest{ReservationId: reservationID}); err != nil {
		return classify(err, catalogReasons)
	}
	return nil
}
