package grpcserver_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
	"github.com/bazaarhq/bazaar/internal/catalog"
)

func eur(units int64, nanos int32) *money.Money {
	return &money.Money{CurrencyCode: "EUR", Units: units, Nanos: nanos}
}

func knife(sku string, price *money.Money) *catalogv1.Product {
	return &catalogv1.Product{
		Sku: sku, Title: "Chef knife " + sku, Description: "Forged steel", Brand: "Bazaar Forge", Category: "kitchen/knives", Price: price,
		Attributes: map[string]string{"colour": "red"}, Status: catalogv1.ProductStatus_PRODUCT_STATUS_ACTIVE,
		Kind: &catalogv1.Product_Physical{Physical: &catalogv1.PhysicalGoods{
			WeightGrams: 250, Dimensions: &catalogv1.Dimensions{LengthMm: 300, WidthMm: 50, HeightMm: 20},
		}},
		PartnerMetadata: &anypb.Any{TypeUrl: "type.googleapis.com/acme.v1.Extra", Value: []byte{8, 1}},
	}
}

func (h *harness) create(t *testing.T, p *catalogv1.Product) *catalogv1.Product {
	t.Helper()
	resp, err := h.client.CreateProduct(callCtx(t, admin...), &catalogv1.CreateProductRequest{Product: p, RequestId: uuid.NewString()})
	if err != nil {
		t.Fatalf("CreateProduct(%s) = %v", p.GetSku(), err)
	}
	return resp.GetProduct()
}

func TestCreateGetUpdateArchive(t *testing.T) {
	t.Parallel()
	h := start(t)
	in := knife("KNIFE-1", eur(49, 990000000))
	reqID := uuid.NewString()
	resp, err := h.client.CreateProduct(callCtx(t, admin...), &catalogv1.CreateProductRequest{Product: in, RequestId: reqID})
	if err != nil {
		t.Fatalf("CreateProduct() = %v", err)
	}
	created := resp.GetProduct()
	want := &catalogv1.Product{
		Sku: in.Sku, Title: in.Title, Description: in.Description, Brand: in.Brand, Category: in.Category, Price: in.Price,
		Attributes: in.Attributes, Status: in.Status, Kind: in.Kind, PartnerMetadata: in.PartnerMetadata, Etag: "1",
	}
	if diff := cmp.Diff(want, created, protocmp.Transform(),
		protocmp.IgnoreFields(&catalogv1.Product{}, "id", "create_time", "update_time")); diff != "" {
		t.Errorf("CreateProduct() differs (-want +got):\n%s", diff)
	}
	again, err := h.client.CreateProduct(callCtx(t, admin...), &catalogv1.CreateProductRequest{Product: in, RequestId: reqID})
	if err != nil || again.GetProduct().GetId() != created.GetId() {
		t.Errorf("CreateProduct(same request id) = %v, %v; want the first product %s", again.GetProduct().GetId(), err, created.GetId())
	}

	got, err := h.client.GetProduct(callCtx(t), &catalogv1.GetProductRequest{Id: created.GetId()})
	if err != nil {
		t.Fatalf("GetProduct(%q) = %v", created.GetId(), err)
	}
	if diff := cmp.Diff(created, got.GetProduct(), protocmp.Transform()); diff != "" {
		t.Errorf("GetProduct() differs from the created product (-created +got):\n%s", diff)
	}
	draftIn := knife("DRAFT-1", eur(1, 0))
	draftIn.Status = catalogv1.ProductStatus_PRODUCT_STATUS_DRAFT
	draft := h.create(t, draftIn)
	_, err = h.client.GetProduct(callCtx(t, customer...), &catalogv1.GetProductRequest{Id: draft.GetId()})
	wantStatus(t, "GetProduct(draft) as customer", err, codes.NotFound, catalog.ReasonProductNotFound)
	if _, err := h.client.GetProduct(callCtx(t, admin...), &catalogv1.GetProductRequest{Id: draft.GetId()}); err != nil {
		t.Errorf("GetProduct(draft) as admin = %v, want the draft", err)
	}
	_, err = h.client.GetProduct(callCtx(t), &catalogv1.GetProductRequest{Id: "ghost"})
	wantStatus(t, `GetProduct("ghost")`, err, codes.NotFound, catalog.ReasonProductNotFound)

	// Update the price and switch to a gift card through the mask: only
	// the masked fields are applied.
	change := proto.CloneOf(created)
	change.Price, change.Title = eur(10, 0), "ignored"
	change.Kind = &catalogv1.Product_GiftCard{GiftCard: &catalogv1.GiftCard{MinAmount: eur(10, 0), MaxAmount: eur(100, 0)}}
	upd, err := h.client.UpdateProduct(callCtx(t, admin...), &catalogv1.UpdateProductRequest{
		Product: change, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"price", "gift_card"}},
	})
	if err != nil {
		t.Fatalf("UpdateProduct(price, gift_card) = %v", err)
	}
	u := upd.GetProduct()
	if !cmp.Equal(u.GetPrice(), eur(10, 0), protocmp.Transform()) || u.GetGiftCard() == nil || u.GetTitle() != in.Title || u.GetEtag() != "2" {
		t.Errorf("UpdateProduct() = %v, want price EUR 10, a gift card, title kept, etag 2", u)
	}
	_, err = h.client.UpdateProduct(callCtx(t, admin...), &catalogv1.UpdateProductRequest{
		Product: change, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"price"}},
	})
	wantStatus(t, "UpdateProduct(stale etag)", err, codes.Aborted, catalog.ReasonEtagMismatch)
	_, err = h.client.UpdateProduct(callCtx(t, admin...), &catalogv1.UpdateProductRequest{
		Product:    u,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"sku"}},
	})
	wantStatus(t, "UpdateProduct(mask sku)", err, codes.InvalidArgument, catalog.ReasonUpdateMaskInvalid, "update_mask")

	// A sparse request: the id, the etag and the masked field, nothing
	// else. The product as updated is what must be valid.
	sparse, err := h.client.UpdateProduct(callCtx(t, admin...), &catalogv1.UpdateProductRequest{
		Product:    &catalogv1.Product{Id: u.GetId(), Etag: u.GetEtag(), Description: "Now with a description."},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}},
	})
	if err != nil || sparse.GetProduct().GetDescription() != "Now with a description." || sparse.GetProduct().GetTitle() != in.Title {
		t.Fatalf("UpdateProduct(sparse description) = %v, %v; want the description set, the rest kept", sparse.GetProduct(), err)
	}
	u = sparse.GetProduct()
	_, err = h.client.UpdateProduct(callCtx(t, admin...), &catalogv1.UpdateProductRequest{
		Product:    &catalogv1.Product{Id: u.GetId(), Etag: u.GetEtag()},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}},
	})
	wantStatus(t, "UpdateProduct(title emptied)", err, codes.InvalidArgument, catalog.ReasonProductInvalid, "product.title")
	_, err = h.client.UpdateProduct(callCtx(t, admin...), &catalogv1.UpdateProductRequest{
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}},
	})
	wantStatus(t, "UpdateProduct(no product)", err, codes.InvalidArgument, catalog.ReasonProductInvalid, "product.id")

	// brand (added in v1.1) is stored and updatable like any field.
	rebrand := proto.CloneOf(u)
	rebrand.Brand = "Other Forge"
	rb, err := h.client.UpdateProduct(callCtx(t, admin...), &catalogv1.UpdateProductRequest{
		Product: rebrand, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"brand"}},
	})
	if err != nil || rb.GetProduct().GetBrand() != "Other Forge" {
		t.Fatalf("UpdateProduct(brand) = %v, %v, want brand Other Forge", rb, err)
	}
	got, err = h.client.GetProduct(callCtx(t, admin...), &catalogv1.GetProductRequest{Id: u.GetId()})
	if err != nil || got.GetProduct().GetBrand() != "Other Forge" {
		t.Errorf("GetProduct() after the brand update = %v, %v, want it stored", got, err)
	}
	u = rb.GetProduct()

	arch, err := h.client.ArchiveProduct(callCtx(t, admin...), &catalogv1.ArchiveProductRequest{Id: u.GetId(), Etag: u.GetEtag()})
	if err != nil || arch.GetProduct().GetStatus() != catalogv1.ProductStatus_PRODUCT_STATUS_ARCHIVED {
		t.Errorf("ArchiveProduct() = %v, %v; want archived", arch.GetProduct().GetStatus(), err)
	}
}

func TestCustomerCannotWrite(t *testing.T) {
	t.Parallel()
	h := start(t)
	_, err := h.client.CreateProduct(callCtx(t, customer...), &catalogv1.CreateProductRequest{
		Product: knife("KNIFE-2", eur(1, 0)), RequestId: uuid.NewString(),
	})
	wantStatus(t, "CreateProduct(as customer)", err, codes.PermissionDenied, "")
	_, err = h.client.CreateProduct(callCtx(t), &catalogv1.CreateProductRequest{
		Product: knife("KNIFE-2", eur(1, 0)), RequestId: uuid.NewString(),
	})
	wantStatus(t, "CreateProduct(anonymous)", err, codes.Unauthenticated, "")
	_, err = h.client.ReserveStock(callCtx(t, customer...), &catalogv1.ReserveStockRequest{
		ReservationId: "r", Items: []*catalogv1.ReservationItem{{Sku: "KNIFE-2", Quantity: 1}},
	})
	wantStatus(t, "ReserveStock(as customer)", err, codes.PermissionDenied, "")
}

func TestListAndSearch(t *testing.T) {
	t.Parallel()
	h := start(t)
	for i := range 5 {
		h.create(t, knife(fmt.Sprintf("K-%d", i), eur(int64(10+i), 0)))
	}
	var skus []string
	token := ""
	for {
		resp, err := h.client.ListProducts(callCtx(t), &catalogv1.ListProductsRequest{
			PageSize: 2, PageToken: token, OrderBy: catalogv1.ProductOrder_PRODUCT_ORDER_PRICE_DESC,
			MinPrice: eur(11, 0), Attributes: []*catalogv1.AttributeFilter{{Key: "colour", Value: "red"}},
		})
		if err != nil {
			t.Fatalf("ListProducts(token %q) = %v", token, err)
		}
		for _, p := range resp.GetProducts() {
			skus = append(skus, p.GetSku())
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if want := []string{"K-4", "K-3", "K-2", "K-1"}; !cmp.Equal(skus, want) {
		t.Errorf("ListProducts(>= EUR 11, price desc, pages of 2) = %v, want %v", skus, want)
	}
	_, err := h.client.ListProducts(callCtx(t), &catalogv1.ListProductsRequest{PageToken: "bm90IGEgdG9rZW4"})
	wantStatus(t, "ListProducts(forged token)", err, codes.InvalidArgument, catalog.ReasonPageTokenInvalid, "page_token")

	resp, err := h.client.SearchProducts(callCtx(t), &catalogv1.SearchProductsRequest{Query: "chef K-3"})
	if err != nil || len(resp.GetProducts()) != 1 || resp.GetProducts()[0].GetSku() != "K-3" {
		t.Errorf(`SearchProducts("chef K-3") = %v, %v; want K-3`, resp.GetProducts(), err)
	}
}

func TestStockAndReservations(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.create(t, knife("LAST-1", eur(5, 0)))
	adj := &catalogv1.AdjustStockRequest{Sku: "LAST-1", Delta: 2, Reason: "delivery", RequestId: uuid.NewString()}
	for range 2 {
		resp, err := h.client.AdjustStock(callCtx(t, admin...), adj)
		if err != nil || resp.GetStock().GetAvailable() != 2 {
			t.Fatalf("AdjustStock(+2) = %v, %v; want 2 available (applied once)", resp.GetStock(), err)
		}
	}
	res, err := h.client.ReserveStock(callCtx(t, orderSvc...), &catalogv1.ReserveStockRequest{
		ReservationId: "order-1", Items: []*catalogv1.ReservationItem{{Sku: "LAST-1", Quantity: 2}},
	})
	if err != nil || res.GetReservation().GetState() != catalogv1.ReservationState_RESERVATION_STATE_RESERVED ||
		res.GetReservation().GetExpireTime() == nil {
		t.Fatalf("ReserveStock(as order) = %v, %v; want reserved with an expire time", res.GetReservation(), err)
	}
	_, err = h.client.ReserveStock(callCtx(t, orderSvc...), &catalogv1.ReserveStockRequest{
		ReservationId: "order-2", Items: []*catalogv1.ReservationItem{{Sku: "LAST-1", Quantity: 1}, {Sku: "GHOST-1", Quantity: 1}},
	})
	d := wantStatus(t, "ReserveStock(sold out)", err, codes.FailedPrecondition, catalog.ReasonInsufficientStock)
	var subjects []string
	for _, v := range d.Preconditions {
		if v.GetType() == catalog.PreconditionStock {
			subjects = append(subjects, v.GetSubject())
		}
	}
	if want := []string{"GHOST-1", "LAST-1"}; !cmp.Equal(subjects, want) {
		t.Errorf("ReserveStock(sold out) PreconditionFailure subjects = %v, want a STOCK violation each for %v", subjects, want)
	}
	com, err := h.client.CommitReservation(callCtx(t, orderSvc...), &catalogv1.CommitReservationRequest{ReservationId: "order-1"})
	if err != nil || com.GetReservation().GetState() != catalogv1.ReservationState_RESERVATION_STATE_COMMITTED {
		t.Fatalf("CommitReservation() = %v, %v; want committed", com.GetReservation(), err)
	}
	_, err = h.client.ReleaseReservation(callCtx(t, orderSvc...), &catalogv1.ReleaseReservationRequest{ReservationId: "order-1"})
	wantStatus(t, "ReleaseReservation(committed)", err, codes.FailedPrecondition, catalog.ReasonReservationClosed)
	st, err := h.client.GetStock(callCtx(t), &catalogv1.GetStockRequest{Skus: []string{"LAST-1"}})
	want := &catalogv1.Stock{Sku: "LAST-1", Sold: 2}
	if err != nil || !cmp.Equal(st.GetStocks(), []*catalogv1.Stock{want}, protocmp.Transform()) {
		t.Errorf("GetStock(LAST-1) = %v, %v; want %v", st.GetStocks(), err, want)
	}
	_, err = h.client.ReturnReservation(callCtx(t, customer...), &catalogv1.ReturnReservationRequest{ReservationId: "order-1"})
	wantStatus(t, "ReturnReservation(as a customer)", err, codes.PermissionDenied, "")
	ret, err := h.client.ReturnReservation(callCtx(t, orderSvc...), &catalogv1.ReturnReservationRequest{ReservationId: "order-1"})
	if err != nil || ret.GetReservation().GetState() != catalogv1.ReservationState_RESERVATION_STATE_RETURNED {
		t.Fatalf("ReturnReservation() = %v, %v; want returned", ret.GetReservation(), err)
	}
	st, err = h.client.GetStock(callCtx(t), &catalogv1.GetStockRequest{Skus: []string{"LAST-1"}})
	want = &catalogv1.Stock{Sku: "LAST-1", Available: 2}
	if err != nil || !cmp.Equal(st.GetStocks(), []*catalogv1.Stock{want}, protocmp.Transform()) {
		t.Errorf("GetStock(LAST-1) after the return = %v, %v; want %v", st.GetStocks(), err, want)
	}
}

func TestStreamingMethodsUnimplemented(t *testing.T) {
	t.Parallel()
	h := start(t)
	stream, err := h.client.DownloadProductImage(callCtx(t), &catalogv1.DownloadProductImageRequest{ProductId: "p", ImageId: "i"})
	if err == nil {
		_, err = stream.Recv()
	}
	wantStatus(t, "DownloadProductImage()", err, codes.Unimplemented, "")
}
