package catalog_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/catalog"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	if _, err := catalog.New(nil, catalog.Config{}); err == nil {
		t.Error("New(nil store) = nil error, want an error")
	}
	for _, cfg := range []catalog.Config{{ReservationTTL: -time.Second}, {SweepBatch: -1}} {
		if _, err := catalog.New(stubStore{}, cfg); err == nil {
			t.Errorf("New(%+v) = nil error, want an error", cfg)
		}
	}
}

// stubStore is a Store for tests that only construct a Service.
type stubStore struct{ catalog.Store }

func TestCreateProductValidation(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t)
	for _, tc := range []struct {
		name   string
		change func(p *catalog.Product)
	}{
		{"lower-case sku", func(p *catalog.Product) { p.SKU = "sku-1" }},
		{"empty title", func(p *catalog.Product) { p.Title = "" }},
		{"long title", func(p *catalog.Product) { p.Title = strings.Repeat("é", 201) }},
		{"bad category", func(p *catalog.Product) { p.Category = "Home/" }},
		{"negative price", func(p *catalog.Product) { p.Price = eur(-1, 0) }},
		{"bad currency", func(p *catalog.Product) { p.Price.Currency = "euro" }},
		{"bad attribute key", func(p *catalog.Product) { p.Attributes = map[string]string{"Colour": "red"} }},
		{"weightless physical", func(p *catalog.Product) { p.Kind = catalog.Kind{Type: catalog.KindPhysical} }},
		{"gift card min above max", func(p *catalog.Product) {
			p.Kind = catalog.Kind{Type: catalog.KindGiftCard, MinAmount: eur(50, 0), MaxAmount: eur(10, 0)}
		}},
		{"gift card two currencies", func(p *catalog.Product) {
			p.Kind = catalog.Kind{Type: catalog.KindGiftCard, MinAmount: eur(5, 0), MaxAmount: catalog.Money{Currency: "USD", Units: 9}}
		}},
		{"metadata without type", func(p *catalog.Product) { p.PartnerMetadata.Value = []byte{1} }},
	} {
		p := validProduct()
		tc.change(p)
		_, err := svc.CreateProduct(t.Context(), p, "req-"+tc.name)
		wantErr(t, "CreateProduct("+tc.name+")", err, errs.InvalidArgument, catalog.ReasonProductInvalid)
	}
	_, err := svc.CreateProduct(t.Context(), validProduct(), "")
	wantErr(t, "CreateProduct(no request id)", err, errs.InvalidArgument, catalog.ReasonRequestIDInvalid)

	p := validProduct()
	p.Status = catalog.StatusUnspecified
	got, err := svc.CreateProduct(t.Context(), p, "req-draft")
	if err != nil || got.Status != catalog.StatusDraft {
		t.Errorf("CreateProduct(status unspecified) = %v, %v; want a draft", got, err)
	}
}

func TestListAndSearchValidation(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t)
	ctx := t.Context()
	usd := catalog.Money{Currency: "USD", Units: 1}
	minP := eur(1, 0)
	for _, tc := range []struct {
		name   string
		r      catalog.ListRequest
		reason string
	}{
		{"page size 201", catalog.ListRequest{PageSize: 201}, catalog.ReasonPageSizeInvalid},
		{"negative page size", catalog.ListRequest{PageSize: -1}, catalog.ReasonPageSizeInvalid},
		{"two currencies", catalog.ListRequest{MinPrice: &minP, MaxPrice: &usd}, catalog.ReasonFilterInvalid},
		{"bad category", catalog.ListRequest{Category: "a//b"}, catalog.ReasonFilterInvalid},
		{"conflicting attributes", catalog.ListRequest{Attributes: []catalog.AttributeFilter{{"c", "1"}, {"c", "2"}}}, catalog.ReasonFilterInvalid},
		{"garbage token", catalog.ListRequest{PageToken: "!!"}, catalog.ReasonPageTokenInvalid},
	} {
		_, _, err := svc.ListProducts(ctx, nil, tc.r)
		wantErr(t, "ListProducts("+tc.name+")", err, errs.InvalidArgument, tc.reason)
	}
	_, _, err := svc.SearchProducts(ctx, "  --- ", 0, "")
	wantErr(t, "SearchProducts(no words)", err, errs.InvalidArgument, catalog.ReasonQueryInvalid)
	_, _, err = svc.SearchProducts(ctx, "knife", 101, "")
	wantErr(t, "SearchProducts(size 101)", err, errs.InvalidArgument, catalog.ReasonPageSizeInvalid)
	// FTS and tsquery operators are plain words, never syntax.
	if _, _, err := svc.SearchProducts(ctx, `knife* NEAR(" OR title:x'`, 0, ""); err != nil {
		t.Errorf("SearchProducts(operators) = %v, want no error", err)
	}
}

func TestStockValidation(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t)
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		r    catalog.AdjustRequest
	}{
		{"zero delta", catalog.AdjustRequest{SKU: "A-1", Delta: 0, Reason: "x", RequestID: "r"}},
		{"huge delta", catalog.AdjustRequest{SKU: "A-1", Delta: 1_000_000_001, Reason: "x", RequestID: "r"}},
		{"no reason", catalog.AdjustRequest{SKU: "A-1", Delta: 1, Reason: " ", RequestID: "r"}},
	} {
		_, err := svc.AdjustStock(ctx, tc.r)
		wantErr(t, "AdjustStock("+tc.name+")", err, errs.InvalidArgument, catalog.ReasonStockRequestInvalid)
	}
	for _, tc := range []struct {
		name  string
		items []catalog.ReservationItem
	}{
		{"no items", nil},
		{"zero quantity", []catalog.ReservationItem{{SKU: "A-1", Quantity: 0}}},
		{"too many units", []catalog.ReservationItem{{SKU: "A-1", Quantity: 1001}}},
		{"repeated sku", []catalog.ReservationItem{{SKU: "A-1", Quantity: 1}, {SKU: "A-1", Quantity: 2}}},
	} {
		_, err := svc.ReserveStock(ctx, "res-1", tc.items)
		wantErr(t, "ReserveStock("+tc.name+")", err, errs.InvalidArgument, catalog.ReasonStockRequestInvalid)
	}
	_, err := svc.GetStock(ctx, []string{"A-1", "A-1"})
	wantErr(t, "GetStock(repeated)", err, errs.InvalidArgument, catalog.ReasonStockRequestInvalid)
	_, err = svc.GetStock(ctx, []string{"NOPE"})
	wantErr(t, "GetStock(unknown)", err, errs.NotFound, catalog.ReasonSKUNotFound)
}

func TestRunSweeperExpiresAndStops(t *testing.T) {
	t.Parallel()
	svc, clk := newService(t)
	ctx := t.Context()
	if _, err := svc.CreateProduct(ctx, validProduct(), "req-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AdjustStock(ctx, catalog.AdjustRequest{SKU: "SKU-1", Delta: 3, Reason: "delivery", RequestID: "adj-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ReserveStock(ctx, "res-1", []catalog.ReservationItem{{SKU: "SKU-1", Quantity: 3}}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(catalog.DefaultReservationTTL)

	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.RunSweeper(runCtx, time.Millisecond) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := svc.GetStock(ctx, []string{"SKU-1"})
		if err != nil {
			t.Fatal(err)
		}
		if st[0].Available == 3 && st[0].Reserved == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stock %+v 5 s after expiry, want the reservation swept back to available", st[0])
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("RunSweeper() = %v, want nil when ctx ends", err)
	}
	if err := svc.RunSweeper(ctx, 0); err == nil {
		t.Error("RunSweeper(interval 0) = nil, want an error")
	}
}

// FuzzListPageToken: any page token is either accepted or refused with
// INVALID_ARGUMENT PAGE_TOKEN_INVALID, never a panic or another error.
func FuzzListPageToken(f *testing.F) {
	svc, _ := newService(f)
	for i := range 3 {
		p := validProduct()
		p.SKU = "SKU-" + string(rune('A'+i))
		if _, err := svc.CreateProduct(f.Context(), p, p.SKU); err != nil {
			f.Fatal(err)
		}
	}
	_, next, err := svc.ListProducts(f.Context(), nil, catalog.ListRequest{PageSize: 1})
	if err != nil || next == "" {
		f.Fatalf("ListProducts(size 1) = %q, %v", next, err)
	}
	f.Add(next)
	f.Add("")
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, token string) {
		_, _, err := svc.ListProducts(t.Context(), nil, catalog.ListRequest{PageSize: 1, PageToken: token})
		if err != nil {
			wantErr(t, "ListProducts(token)", err, errs.InvalidArgument, catalog.ReasonPageTokenInvalid)
		}
	})
}
