package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bazaarhq/bazaar/internal/catalog"
	"github.com/bazaarhq/bazaar/internal/catalog/store"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

func TestSQLite(t *testing.T) {
	t.Parallel()
	testContract(t, sqliteBackend())
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	testContract(t, postgresBackend(t))
}

// testContract is the behaviour catalog.Store promises, on every engine,
// checked through the Service where the promise is the Service's (etags,
// idempotency, page tokens) and directly otherwise. Each case opens its
// own store, so cases run in parallel.
func testContract(t *testing.T, b backend) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, st *store.Store)
	}{
		{"CreateAndReadProduct", testCreateAndRead},
		{"CreateIdempotent", testCreateIdempotent},
		{"CreateSKUTaken", testCreateSKUTaken},
		{"BatchGet", testBatchGet},
		{"UpdateMaskAndEtag", testUpdate},
		{"UpdateFnErrorWritesNothing", testUpdateFnError},
		{"EtagConflictConcurrent", testEtagConcurrent},
		{"ListFiltersOrdersAndPages", testList},
		{"Search", testSearch},
		{"AdjustStock", testAdjustStock},
		{"AdjustStockConcurrentNoLostUpdate", testAdjustConcurrent},
		{"ReserveCommitRelease", testReservationLifecycle},
		{"ReserveAllOrNothing", testReserveAllOrNothing},
		{"ReserveLastUnitsRace", testReserveRace},
		{"ReserveSameIDConcurrent", testReserveSameIDConcurrent},
		{"ExpireReservations", testExpire},
		{"CommitRacingExpiry", testCommitRacingExpiry},
		{"StockEventPayload", testStockEventPayload},
		{"Images", testImages},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, b.open(t))
		})
	}
}

func testCreateAndRead(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	in := newProduct("KNIFE-1", "Chef knife", eur(49, 990000000))
	in.PartnerMetadata = catalog.PartnerMetadata{TypeURL: "type.googleapis.com/acme.Extra", Value: []byte{1, 2, 3}}
	in.Kind = catalog.Kind{Type: catalog.KindGiftCard, MinAmount: eur(10, 0), MaxAmount: eur(500, 500000000)}
	created := mustCreate(t, svc, in)
	if created.ID == "" || created.Etag() != "1" || !created.CreateTime.Equal(t0) || created.Status != catalog.StatusActive {
		t.Fatalf("CreateProduct() = %+v, want an id, etag 1, create time %v", created, t0)
	}
	got, err := svc.GetProduct(t.Context(), admin, created.ID)
	if err != nil {
		t.Fatalf("GetProduct(%q) = %v", created.ID, err)
	}
	if diff := cmp.Diff(created, got); diff != "" {
		t.Errorf("GetProduct(%q) differs from the created product (-created +got):\n%s", created.ID, diff)
	}
	if s := mustStock(t, svc, "KNIFE-1"); s.Available != 0 || s.Reserved != 0 || s.Sold != 0 || s.ProductID != created.ID {
		t.Errorf("GetStock(KNIFE-1) = %+v, want 0 units of product %s", s, created.ID)
	}
	want := []string{catalog.TopicPriceChanged, catalog.TopicStatusChanged, catalog.TopicStockChanged}
	if got := topics(t, st); !slices.Equal(got, want) {
		t.Errorf("outbox topics = %v, want %v", got, want)
	}
	_, err = svc.GetProduct(t.Context(), admin, "nope")
	wantKind(t, `GetProduct("nope")`, err, errs.NotFound, catalog.ReasonProductNotFound)
}

func testCreateIdempotent(t *testing.T, st *store.Store) {
	svc, clk := newService(t, st)
	p := newProduct("MUG-1", "Mug", eur(9, 0))
	first, err := svc.CreateProduct(t.Context(), p, "req-1")
	if err != nil {
		t.Fatalf("CreateProduct(req-1) = %v", err)
	}
	clk.Advance(time.Minute)
	again, err := svc.CreateProduct(t.Context(), p, "req-1")
	if err != nil {
		t.Fatalf("CreateProduct(req-1) again = %v", err)
	}
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("replayed CreateProduct differs (-first +again):\n%s", diff)
	}
	// A retry after an update still returns the product.
	if _, err := svc.UpdateProduct(t.Context(), &catalog.Product{ID: first.ID, Title: "Big mug"}, first.Etag(), []string{"title"}); err != nil {
		t.Fatalf("UpdateProduct() = %v", err)
	}
	if again, err := svc.CreateProduct(t.Context(), p, "req-1"); err != nil || again.ID != first.ID {
		t.Errorf("CreateProduct(req-1) after an update = %v, %v; want product %s", again, err, first.ID)
	}
	other := newProduct("MUG-1", "Another mug", eur(9, 0))
	_, err = svc.CreateProduct(t.Context(), other, "req-1")
	wantKind(t, "CreateProduct(req-1, other product)", err, errs.InvalidArgument, catalog.ReasonIdempotencyKeyReused)

	// The same request concurrently: one product, every caller gets it.
	p2 := newProduct("MUG-2", "Mug two", eur(9, 0))
	var wg sync.WaitGroup
	ids := make([]string, 10)
	for i := range ids {
		wg.Go(func() {
			got, err := svc.CreateProduct(t.Context(), p2, "req-2")
			if err != nil {
				t.Errorf("concurrent CreateProduct(req-2) = %v", err)
				return
			}
			ids[i] = got.ID
		})
	}
	wg.Wait()
	if ids[0] == "" || slices.ContainsFunc(ids, func(id string) bool { return id != ids[0] }) {
		t.Errorf("concurrent CreateProduct(req-2) ids = %v, want one id", ids)
	}
}

func testCreateSKUTaken(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	mustCreate(t, svc, newProduct("PAN-1", "Pan", eur(20, 0)))
	_, err := svc.CreateProduct(t.Context(), newProduct("PAN-1", "Pan", eur(20, 0)), "req-other")
	wantKind(t, "CreateProduct(PAN-1 again)", err, errs.AlreadyExists, catalog.ReasonSKUTaken)
	if err := st.CreateProduct(t.Context(), &catalog.Product{ID: "x", SKU: "PAN-1", Status: catalog.StatusDraft},
		catalog.CreateRequest{ID: "r", Fingerprint: []byte{1}}); !errors.Is(err, catalog.ErrDuplicate) {
		t.Errorf("store.CreateProduct(PAN-1 again) = %v, want ErrDuplicate", err)
	}
}

func testBatchGet(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	a := mustCreate(t, svc, newProduct("A-1", "A", eur(1, 0)))
	b := mustCreate(t, svc, newProduct("B-1", "B", eur(2, 0)))
	found, missing, err := svc.BatchGetProducts(t.Context(), admin, []string{b.ID, "ghost", a.ID})
	if err != nil {
		t.Fatalf("BatchGetProducts() = %v", err)
	}
	if len(found) != 2 || found[0].ID != b.ID || found[1].ID != a.ID || !slices.Equal(missing, []string{"ghost"}) {
		t.Errorf("BatchGetProducts(b, ghost, a) = %d products, missing %v; want [b a], [ghost]", len(found), missing)
	}
}

func testUpdate(t *testing.T, st *store.Store) {
	svc, clk := newService(t, st)
	p := mustCreate(t, svc, newProduct("TEA-1", "Tea", eur(5, 0)))
	clk.Advance(time.Second)
	change := &catalog.Product{ID: p.ID, Title: "Green tea", Price: eur(6, 500000000), Description: "ignored",
		Attributes: map[string]string{"leaf": "green"}}
	got, err := svc.UpdateProduct(t.Context(), change, p.Etag(), []string{"title", "price", "attributes"})
	if err != nil {
		t.Fatalf("UpdateProduct() = %v", err)
	}
	if got.Title != "Green tea" || got.Price != eur(6, 500000000) || got.Description != p.Description ||
		got.Etag() != "2" || !got.UpdateTime.Equal(t0.Add(time.Second)) || !cmp.Equal(got.Attributes, map[string]string{"leaf": "green"}) {
		t.Errorf("UpdateProduct() = %+v, want title, price and attributes changed, etag 2", got)
	}
	_, err = svc.UpdateProduct(t.Context(), change, p.Etag(), []string{"title"})
	wantKind(t, "UpdateProduct(stale etag)", err, errs.Aborted, catalog.ReasonEtagMismatch)
	_, err = svc.UpdateProduct(t.Context(), change, got.Etag(), []string{"sku"})
	wantKind(t, "UpdateProduct(mask sku)", err, errs.InvalidArgument, catalog.ReasonUpdateMaskInvalid)
	_, err = svc.UpdateProduct(t.Context(), &catalog.Product{ID: "ghost"}, "1", []string{"title"})
	wantKind(t, "UpdateProduct(ghost)", err, errs.NotFound, catalog.ReasonProductNotFound)

	archived, err := svc.ArchiveProduct(t.Context(), p.ID, got.Etag())
	if err != nil || archived.Status != catalog.StatusArchived || archived.Etag() != "3" {
		t.Fatalf("ArchiveProduct() = %+v, %v; want archived, etag 3", archived, err)
	}
	want := []string{catalog.TopicPriceChanged, catalog.TopicStatusChanged, catalog.TopicStockChanged,
		catalog.TopicPriceChanged, catalog.TopicStatusChanged}
	if got := topics(t, st); !slices.Equal(got, want) {
		t.Errorf("outbox topics = %v, want %v", got, want)
	}
}

func testUpdateFnError(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	p := mustCreate(t, svc, newProduct("CUP-1", "Cup", eur(3, 0)))
	boom := errors.New("boom")
	_, err := st.UpdateProduct(t.Context(), p.ID, func(q *catalog.Product) ([]catalog.Event, error) {
		q.Title = "changed"
		return nil, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("UpdateProduct(fn fails) = %v, want boom", err)
	}
	if got, _ := svc.GetProduct(t.Context(), admin, p.ID); got.Title != "Cup" {
		t.Errorf("after a failed update, title = %q, want Cup", got.Title)
	}
}

func testEtagConcurrent(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	p := mustCreate(t, svc, newProduct("BOWL-1", "Bowl", eur(3, 0)))
	const n = 20
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		ok, lost int
	)
	for i := range n {
		wg.Go(func() {
			_, err := svc.UpdateProduct(t.Context(), &catalog.Product{ID: p.ID, Title: fmt.Sprintf("Bowl %d", i)}, p.Etag(), []string{"title"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errs.KindOfError(err) == errs.Aborted:
				lost++
			default:
				t.Errorf("UpdateProduct() = %v, want OK or ABORTED", err)
			}
		})
	}
	wg.Wait()
	if ok != 1 || lost != n-1 {
		t.Errorf("%d concurrent updates with one etag: %d succeeded, %d aborted; want 1 and %d", n, ok, lost, n-1)
	}
}

func testList(t *testing.T, st *store.Store) {
	svc, clk := newService(t, st)
	var all []*catalog.Product
	for i := range 7 {
		clk.Advance(time.Second)
		p := newProduct(fmt.Sprintf("ITEM-%d", i), fmt.Sprintf("Item %d", i), eur(int64(10-i%3), int32(i)*1000))
		if i%2 == 1 {
			p.Category = "kitchen"
			p.Attributes = map[string]string{"colour": "blue"}
		}
		all = append(all, mustCreate(t, svc, p))
	}
	draft := newProduct("DRAFT-1", "Draft", eur(1, 0))
	draft.Status = catalog.StatusDraft
	mustCreate(t, svc, draft)

	// Newest first, in pages of 3, through tokens.
	var ids []string
	token := ""
	for page := 0; ; page++ {
		ps, next, err := svc.ListProducts(t.Context(), nil, catalog.ListRequest{PageSize: 3, PageToken: token})
		if err != nil {
			t.Fatalf("ListProducts(page %d) = %v", page, err)
		}
		for _, p := range ps {
			ids = append(ids, p.ID)
		}
		if next == "" {
			break
		}
		token = next
	}
	var want []string
	for _, p := range slices.Backward(all) {
		want = append(want, p.ID)
	}
	if !slices.Equal(ids, want) {
		t.Errorf("ListProducts() pages = %v, want active products newest first %v", ids, want)
	}

	// A token is bound to its filters and tamper-evident.
	_, next, err := svc.ListProducts(t.Context(), nil, catalog.ListRequest{PageSize: 2})
	if err != nil || next == "" {
		t.Fatalf("ListProducts(size 2) = %q, %v; want a next token", next, err)
	}
	_, _, err = svc.ListProducts(t.Context(), nil, catalog.ListRequest{PageSize: 2, PageToken: next, Category: "kitchen"})
	wantKind(t, "ListProducts(token of other filters)", err, errs.InvalidArgument, catalog.ReasonPageTokenInvalid)
	tampered := next[:len(next)-2] + "AA"
	if tampered == next {
		tampered = next[:len(next)-2] + "BB"
	}
	_, _, err = svc.ListProducts(t.Context(), nil, catalog.ListRequest{PageSize: 2, PageToken: tampered})
	wantKind(t, "ListProducts(tampered token)", err, errs.InvalidArgument, catalog.ReasonPageTokenInvalid)

	// Price ascending with a range and attribute filter.
	minP, maxP := eur(8, 0), eur(9, 999999999)
	ps, _, err := svc.ListProducts(t.Context(), nil, catalog.ListRequest{
		Order: catalog.OrderPriceAsc, MinPrice: &minP, MaxPrice: &maxP,
		Attributes: []catalog.AttributeFilter{{Key: "colour", Value: "red"}},
	})
	if err != nil {
		t.Fatalf("ListProducts(price asc) = %v", err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.SKU)
	}
	// Red (even i): ITEM-0 10.0, ITEM-2 8.000002, ITEM-4 9.000004, ITEM-6 10.000006.
	if want := []string{"ITEM-2", "ITEM-4"}; !slices.Equal(got, want) {
		t.Errorf("ListProducts(EUR 8..9.99, red, price asc) = %v, want %v", got, want)
	}
	ps, _, err = svc.ListProducts(t.Context(), nil, catalog.ListRequest{Order: catalog.OrderPriceDesc, Category: "kitchen"})
	if err != nil {
		t.Fatalf("ListProducts(kitchen, price desc) = %v", err)
	}
	got = got[:0]
	for _, p := range ps {
		got = append(got, p.SKU)
	}
	if want := []string{"ITEM-6", "ITEM-3", "ITEM-0", "ITEM-4", "ITEM-1", "ITEM-5", "ITEM-2"}; !slices.Equal(got, want) {
		t.Errorf("ListProducts(kitchen and below, price desc) = %v, want %v", got, want)
	}
	ps, _, err = svc.ListProducts(t.Context(), admin, catalog.ListRequest{Status: catalog.StatusDraft})
	if err != nil || len(ps) != 1 || ps[0].SKU != "DRAFT-1" {
		t.Errorf("ListProducts(draft) = %d products, %v; want DRAFT-1", len(ps), err)
	}

	// The store's id-and-version page is ListProducts' page, in its order.
	for _, q := range []catalog.ProductQuery{
		{Status: catalog.StatusActive, Order: catalog.OrderPriceDesc, Category: "kitchen", Limit: 4},
		{Status: catalog.StatusActive, Order: catalog.OrderUpdateTimeDesc, Limit: 50},
	} {
		full, err := st.ListProducts(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		vs, err := st.ListProductVersions(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		var want []catalog.ProductVersion
		for _, p := range full {
			want = append(want, catalog.ProductVersion{ID: p.ID, Version: p.Version})
		}
		if !slices.Equal(vs, want) {
			t.Errorf("ListProductVersions(%+v) = %v, want ListProducts' page %v", q, vs, want)
		}
	}
}

func testSearch(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	knife := newProduct("S-1", "Steel chef knife", eur(50, 0))
	knife.Description = "Forged steel"
	board := newProduct("S-2", "Cutting board", eur(20, 0))
	board.Description = "Pairs with a chef knife"
	hidden := newProduct("S-3", "Draft knife", eur(20, 0))
	hidden.Status = catalog.StatusDraft
	for _, p := range []*catalog.Product{knife, board, hidden} {
		mustCreate(t, svc, p)
	}
	ps, next, err := svc.SearchProducts(t.Context(), `Chef "KNIFE" OR`, 0, "")
	if err != nil {
		t.Fatalf(`SearchProducts("Chef KNIFE OR") = %v`, err)
	}
	if next != "" || len(ps) != 0 {
		t.Errorf(`SearchProducts("Chef KNIFE OR") = %d products, want none (every word must match)`, len(ps))
	}
	ps, _, err = svc.SearchProducts(t.Context(), "chef knife", 0, "")
	if err != nil {
		t.Fatalf(`SearchProducts("chef knife") = %v`, err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.SKU)
	}
	// The title match ranks above the description match; drafts are hidden.
	if want := []string{"S-1", "S-2"}; !slices.Equal(got, want) {
		t.Errorf(`SearchProducts("chef knife") = %v, want %v`, got, want)
	}
	first, next, err := svc.SearchProducts(t.Context(), "chef knife", 1, "")
	if err != nil || len(first) != 1 || next == "" {
		t.Fatalf(`SearchProducts("chef knife", size 1) = %d, %q, %v; want 1 and a token`, len(first), next, err)
	}
	second, last, err := svc.SearchProducts(t.Context(), "chef knife", 1, next)
	if err != nil || len(second) != 1 || second[0].SKU != "S-2" || last != "" {
		t.Errorf(`SearchProducts(page 2) = %d, %q, %v; want S-2 and no token`, len(second), last, err)
	}
	_, _, err = svc.SearchProducts(t.Context(), "board", 1, next)
	wantKind(t, "SearchProducts(token of another query)", err, errs.InvalidArgument, catalog.ReasonPageTokenInvalid)

	// Renaming a product re-indexes it.
	p := ps[1]
	if _, err := svc.UpdateProduct(t.Context(), &catalog.Product{ID: p.ID, Title: "Walnut board", Description: "oiled"},
		p.Etag(), []string{"title", "description"}); err != nil {
		t.Fatalf("UpdateProduct() = %v", err)
	}
	ps, _, err = svc.SearchProducts(t.Context(), "walnut", 0, "")
	if err != nil || len(ps) != 1 || ps[0].SKU != "S-2" {
		t.Errorf(`SearchProducts("walnut") after rename = %d products, %v; want S-2`, len(ps), err)
	}
	if ps, _, _ = svc.SearchProducts(t.Context(), "cutting", 0, ""); len(ps) != 0 {
		t.Errorf(`SearchProducts("cutting") after rename = %d products, want 0`, len(ps))
	}
}

func testAdjustStock(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	mustCreate(t, svc, newProduct("SALT-1", "Salt", eur(1, 0)))
	req := catalog.AdjustRequest{SKU: "SALT-1", Delta: 10, Reason: "delivery 1", RequestID: "adj-1"}
	for range 2 {
		s, err := svc.AdjustStock(t.Context(), req)
		if err != nil || s.Available != 10 {
			t.Fatalf("AdjustStock(+10, adj-1) = %+v, %v; want 10 available (once)", s, err)
		}
	}
	_, err := svc.AdjustStock(t.Context(), catalog.AdjustRequest{SKU: "SALT-1", Delta: 5, Reason: "delivery 1", RequestID: "adj-1"})
	wantKind(t, "AdjustStock(adj-1, other delta)", err, errs.InvalidArgument, catalog.ReasonIdempotencyKeyReused)
	_, err = svc.AdjustStock(t.Context(), catalog.AdjustRequest{SKU: "SALT-1", Delta: -11, Reason: "breakage", RequestID: "adj-2"})
	wantKind(t, "AdjustStock(-11 of 10)", err, errs.FailedPrecondition, catalog.ReasonInsufficientStock)
	_, err = svc.AdjustStock(t.Context(), catalog.AdjustRequest{SKU: "NOPE", Delta: 1, Reason: "x", RequestID: "adj-3"})
	wantKind(t, "AdjustStock(unknown SKU)", err, errs.NotFound, catalog.ReasonSKUNotFound)
	if s := mustStock(t, svc, "SALT-1"); s.Available != 10 {
		t.Errorf("stock after refused adjustments = %+v, want 10 available", s)
	}
	s := mustAdjust(t, svc, "SALT-1", -10)
	if s.Available != 0 {
		t.Errorf("AdjustStock(-10) = %+v, want 0 available", s)
	}
}

func testAdjustConcurrent(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	mustCreate(t, svc, newProduct("RICE-1", "Rice", eur(2, 0)))
	const n = 50
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { mustAdjust(t, svc, "RICE-1", 2) })
	}
	wg.Wait()
	if s := mustStock(t, svc, "RICE-1"); s.Available != 2*n {
		t.Errorf("after %d concurrent +2 adjustments, available = %d, want %d", n, s.Available, 2*n)
	}
}

func testReservationLifecycle(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	mustCreate(t, svc, newProduct("OIL-1", "Oil", eur(7, 0)))
	mustAdjust(t, svc, "OIL-1", 10)
	items := []catalog.ReservationItem{{SKU: "OIL-1", Quantity: 4}}
	r, err := svc.ReserveStock(t.Context(), "order-1", items)
	if err != nil || r.State != catalog.ReservationReserved || !r.ExpireTime.Equal(t0.Add(catalog.DefaultReservationTTL)) {
		t.Fatalf("ReserveStock(order-1) = %+v, %v; want reserved until t0+15m", r, err)
	}
	if again, err := svc.ReserveStock(t.Context(), "order-1", items); err != nil || !cmp.Equal(again, r) {
		t.Errorf("ReserveStock(order-1) again = %+v, %v; want the same reservation", again, err)
	}
	if s := mustStock(t, svc, "OIL-1"); s != (catalog.Stock{SKU: "OIL-1", Available: 6, Reserved: 4, ProductID: s.ProductID, Category: s.Category, ProductStatus: catalog.StatusActive}) {
		t.Errorf("stock after reserving 4 of 10 = %+v", s)
	}
	for range 2 {
		if c, err := svc.CommitReservation(t.Context(), "order-1"); err != nil || c.State != catalog.ReservationCommitted {
			t.Fatalf("CommitReservation(order-1) = %+v, %v; want committed (twice)", c, err)
		}
	}
	_, err = svc.ReleaseReservation(t.Context(), "order-1")
	wantKind(t, "ReleaseReservation(committed)", err, errs.FailedPrecondition, catalog.ReasonReservationClosed)
	if s := mustStock(t, svc, "OIL-1"); s.Available != 6 || s.Reserved != 0 || s.Sold != 4 {
		t.Errorf("stock after commit = %+v, want 6/0/4", s)
	}

	if _, err := svc.ReserveStock(t.Context(), "order-2", items); err != nil {
		t.Fatalf("ReserveStock(order-2) = %v", err)
	}
	for range 2 {
		if r, err := svc.ReleaseReservation(t.Context(), "order-2"); err != nil || r.State != catalog.ReservationReleased {
			t.Fatalf("ReleaseReservation(order-2) = %+v, %v; want released (twice)", r, err)
		}
	}
	_, err = svc.CommitReservation(t.Context(), "order-2")
	wantKind(t, "CommitReservation(released)", err, errs.FailedPrecondition, catalog.ReasonReservationClosed)
	if s := mustStock(t, svc, "OIL-1"); s.Available != 6 || s.Reserved != 0 || s.Sold != 4 {
		t.Errorf("stock after release = %+v, want 6/0/4", s)
	}
	_, err = svc.CommitReservation(t.Context(), "ghost")
	wantKind(t, "CommitReservation(ghost)", err, errs.NotFound, catalog.ReasonReservationNotFound)
	_, err = svc.ReserveStock(t.Context(), "order-1", []catalog.ReservationItem{{SKU: "OIL-1", Quantity: 1}})
	wantKind(t, "ReserveStock(order-1, other items)", err, errs.InvalidArgument, catalog.ReasonIdempotencyKeyReused)

	// A cancelled, refunded order puts its sold units back on sale, once.
	_, err = svc.ReturnReservation(t.Context(), "order-2")
	wantKind(t, "ReturnReservation(released)", err, errs.FailedPrecondition, catalog.ReasonReservationClosed)
	for range 2 {
		if r, err := svc.ReturnReservation(t.Context(), "order-1"); err != nil || r.State != catalog.ReservationReturned {
			t.Fatalf("ReturnReservation(order-1) = %+v, %v; want returned (twice)", r, err)
		}
	}
	if s := mustStock(t, svc, "OIL-1"); s.Available != 10 || s.Reserved != 0 || s.Sold != 0 {
		t.Errorf("stock after return = %+v, want 10/0/0", s)
	}
	for _, call := range []func(context.Context, string) (*catalog.Reservation, error){svc.CommitReservation, svc.ReleaseReservation} {
		_, err = call(t.Context(), "order-1")
		wantKind(t, "Commit/ReleaseReservation(returned)", err, errs.FailedPrecondition, catalog.ReasonReservationClosed)
	}
	_, err = svc.ReturnReservation(t.Context(), "ghost")
	wantKind(t, "ReturnReservation(ghost)", err, errs.NotFound, catalog.ReasonReservationNotFound)
}

func testReserveAllOrNothing(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	mustCreate(t, svc, newProduct("A-1", "A", eur(1, 0)))
	mustCreate(t, svc, newProduct("B-1", "B", eur(1, 0)))
	mustAdjust(t, svc, "A-1", 5)
	mustAdjust(t, svc, "B-1", 1)
	_, err := svc.ReserveStock(t.Context(), "order-x", []catalog.ReservationItem{
		{SKU: "A-1", Quantity: 2}, {SKU: "B-1", Quantity: 2}, {SKU: "C-1", Quantity: 1},
	})
	wantKind(t, "ReserveStock(short B-1, unknown C-1)", err, errs.FailedPrecondition, catalog.ReasonInsufficientStock)
	if a := mustStock(t, svc, "A-1"); a.Available != 5 || a.Reserved != 0 {
		t.Errorf("A-1 after a refused reservation = %+v, want untouched", a)
	}
	if _, err := st.Reservation(t.Context(), "order-x"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("Reservation(order-x) = %v, want ErrNotFound", err)
	}
}

// testReserveRace is RELIABILITY.md invariant 10: many buyers racing for
// the last items, exactly as many succeed as there is stock.
func testReserveRace(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	mustCreate(t, svc, newProduct("LAST-1", "Last", eur(1, 0)))
	mustAdjust(t, svc, "LAST-1", 3)
	const buyers = 50
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		ok, lost int
	)
	for i := range buyers {
		wg.Go(func() {
			_, err := svc.ReserveStock(t.Context(), fmt.Sprintf("buyer-%d", i), []catalog.ReservationItem{{SKU: "LAST-1", Quantity: 1}})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errs.KindOfError(err) == errs.FailedPrecondition:
				lost++
			default:
				t.Errorf("ReserveStock(buyer-%d) = %v, want OK or FAILED_PRECONDITION", i, err)
			}
		})
	}
	wg.Wait()
	s := mustStock(t, svc, "LAST-1")
	if ok != 3 || lost != buyers-3 || s.Available != 0 || s.Reserved != 3 || s.Available+s.Reserved+s.Sold != 3 {
		t.Errorf("%d buyers for 3 units: %d reserved, %d refused, stock %+v; want 3, %d, 0/3/0", buyers, ok, lost, s, buyers-3)
	}
}

func testReserveSameIDConcurrent(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	mustCreate(t, svc, newProduct("TWIN-1", "Twin", eur(1, 0)))
	mustAdjust(t, svc, "TWIN-1", 10)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, err := svc.ReserveStock(t.Context(), "same", []catalog.ReservationItem{{SKU: "TWIN-1", Quantity: 2}}); err != nil {
				t.Errorf("ReserveStock(same) = %v", err)
			}
		})
	}
	wg.Wait()
	if s := mustStock(t, svc, "TWIN-1"); s.Available != 8 || s.Reserved != 2 {
		t.Errorf("after 10 concurrent ReserveStock(same, 2) = %+v, want 8/2 (one reservation)", s)
	}
}

func testExpire(t *testing.T, st *store.Store) {
	svc, clk := newService(t, st)
	mustCreate(t, svc, newProduct("EGG-1", "Egg", eur(1, 0)))
	mustAdjust(t, svc, "EGG-1", 10)
	for _, id := range []string{"early", "committed", "late"} {
		if _, err := svc.ReserveStock(t.Context(), id, []catalog.ReservationItem{{SKU: "EGG-1", Quantity: 2}}); err != nil {
			t.Fatalf("ReserveStock(%s) = %v", id, err)
		}
		clk.Advance(time.Minute)
	}
	if _, err := svc.CommitReservation(t.Context(), "committed"); err != nil {
		t.Fatalf("CommitReservation() = %v", err)
	}
	clk.Advance(catalog.DefaultReservationTTL - 2*time.Minute) // "early" is 1 min past, "late" 1 min short
	n, err := svc.ExpireReservations(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("ExpireReservations() = %d, %v; want 1", n, err)
	}
	if r, _ := st.Reservation(t.Context(), "early"); r.State != catalog.ReservationExpired {
		t.Errorf("early reservation state = %v, want expired", r.State)
	}
	if s := mustStock(t, svc, "EGG-1"); s.Available != 6 || s.Reserved != 2 || s.Sold != 2 {
		t.Errorf("stock after expiry = %+v, want 6/2/2", s)
	}
	_, err = svc.CommitReservation(t.Context(), "early")
	wantKind(t, "CommitReservation(expired)", err, errs.FailedPrecondition, catalog.ReasonReservationClosed)
	if r, err := svc.ReleaseReservation(t.Context(), "early"); err != nil || r.State != catalog.ReservationExpired {
		t.Errorf("ReleaseReservation(expired) = %+v, %v; want a no-op", r, err)
	}
	clk.Advance(time.Hour)
	_, err = svc.CommitReservation(t.Context(), "late")
	wantKind(t, "CommitReservation(past expiry, not swept)", err, errs.FailedPrecondition, catalog.ReasonReservationClosed)
	if n, err := svc.ExpireReservations(t.Context()); err != nil || n != 1 {
		t.Errorf("ExpireReservations() = %d, %v; want 1", n, err)
	}
	if s := mustStock(t, svc, "EGG-1"); s.Available != 8 || s.Reserved != 0 || s.Sold != 2 {
		t.Errorf("stock after all expiries = %+v, want 8/0/2", s)
	}
}

func testImages(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	p := mustCreate(t, svc, newProduct("PIC-1", "Pic", eur(1, 0)))
	img := catalog.ImageRef{ID: "img-1", ContentType: "image/png", SizeBytes: 42, SHA256: fmt.Sprintf("%064x", 7)}
	got, err := svc.AddImage(t.Context(), p.ID, img)
	if err != nil || len(got.Images) != 1 || got.Etag() != "2" {
		t.Fatalf("AddImage() = %+v, %v; want one image, etag 2", got, err)
	}
	if r, err := svc.Image(t.Context(), p.ID, "img-1"); err != nil || r != img {
		t.Errorf("Image(img-1) = %+v, %v; want %+v", r, err, img)
	}
	_, err = svc.Image(t.Context(), p.ID, "img-2")
	wantKind(t, "Image(img-2)", err, errs.NotFound, catalog.ReasonImageNotFound)
	_, err = svc.AddImage(t.Context(), "ghost", img)
	wantKind(t, "AddImage(ghost)", err, errs.NotFound, catalog.ReasonProductNotFound)
	mustCreate(t, svc, newProduct("NOPIC-1", "No pic", eur(1, 0)))
	if ids, err := svc.ImageIDs(t.Context()); err != nil || len(ids) != 1 {
		t.Errorf("ImageIDs() = %v, %v; want just img-1", ids, err)
	} else if _, ok := ids["img-1"]; !ok {
		t.Errorf("ImageIDs() = %v, want img-1", ids)
	}
}

// testCommitRacingExpiry: a commit and the sweeper racing for one expired
// reservation. Whichever wins, the units are counted once.
func testCommitRacingExpiry(t *testing.T, st *store.Store) {
	svc, clk := newService(t, st)
	mustCreate(t, svc, newProduct("RACE-1", "Race", eur(1, 0)))
	mustAdjust(t, svc, "RACE-1", 100)
	const n = 20
	for i := range n {
		if _, err := svc.ReserveStock(t.Context(), fmt.Sprintf("r-%d", i), []catalog.ReservationItem{{SKU: "RACE-1", Quantity: 5}}); err != nil {
			t.Fatalf("ReserveStock(r-%d) = %v", i, err)
		}
	}
	clk.Advance(catalog.DefaultReservationTTL - time.Microsecond)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := svc.CommitReservation(t.Context(), fmt.Sprintf("r-%d", i))
			if err != nil && errs.KindOfError(err) != errs.FailedPrecondition {
				t.Errorf("CommitReservation(r-%d) = %v", i, err)
			}
		})
	}
	wg.Go(func() {
		clk.Advance(time.Microsecond)
		if _, err := svc.ExpireReservations(t.Context()); err != nil {
			t.Errorf("ExpireReservations() = %v", err)
		}
	})
	wg.Wait()
	if _, err := svc.ExpireReservations(t.Context()); err != nil {
		t.Fatalf("ExpireReservations() = %v", err)
	}
	s := mustStock(t, svc, "RACE-1")
	if s.Reserved != 0 || s.Available+s.Sold != 100 || s.Sold%5 != 0 {
		t.Errorf("stock after commits racing expiry = %+v, want 0 reserved and available + sold = 100", s)
	}
}

func testStockEventPayload(t *testing.T, st *store.Store) {
	svc, _ := newService(t, st)
	p := mustCreate(t, svc, newProduct("EVT-1", "Event", eur(1, 0)))
	mustAdjust(t, svc, "EVT-1", 7)
	events, err := st.DB().ReadEvents(t.Context(), 0, 100)
	if err != nil || len(events) == 0 {
		t.Fatalf("ReadEvents() = %d events, %v", len(events), err)
	}
	last := events[len(events)-1]
	c, err := catalog.DecodeChange(last.Payload)
	if err != nil {
		t.Fatalf("DecodeChange(%s) = %v", last.Payload, err)
	}
	want := catalog.Change{
		ProductID: p.ID, SKU: "EVT-1", Category: "kitchen/knives", ChangeTime: t0,
		Stock: &catalog.Stock{SKU: "EVT-1", Available: 7},
	}
	if last.Topic != catalog.TopicStockChanged || last.AggregateID != p.ID || !cmp.Equal(c, want) {
		t.Errorf("last event = %s %s %+v, want %s %s %+v", last.Topic, last.AggregateID, c, catalog.TopicStockChanged, p.ID, want)
	}
}
