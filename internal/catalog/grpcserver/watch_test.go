package grpcserver_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
	"github.com/bazaarhq/bazaar/internal/catalog"
	"github.com/bazaarhq/bazaar/internal/catalog/grpcserver"
	"github.com/bazaarhq/bazaar/internal/catalog/store"
	"github.com/bazaarhq/bazaar/internal/platform/events"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// startWatch is start with a change feed: the service notifies the feed
// after each commit, and the poll interval is an hour, so a change that
// arrives promptly proves the wake-up works.
func startWatch(t *testing.T) (*harness, *events.Feed) {
	t.Helper()
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatalf("store.Open() = %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	feed, err := events.NewFeed(st.DB(), events.WithPollInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := catalog.New(catalog.NotifyOnWrite(st, feed.Notify), catalog.Config{})
	if err != nil {
		t.Fatalf("catalog.New() = %v", err)
	}
	srv, err := grpcx.NewServer(grpcx.WithAuthorizer(headerTestAuthorizer{}), grpcx.WithShutdownGrace(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	grpcserver.Register(srv, svc, grpcserver.WithFeed(feed))

	lis := bufconn.Listen(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	feedDone, serveDone := make(chan error, 1), make(chan error, 1)
	go func() { feedDone <- feed.Run(ctx) }()
	go func() { serveDone <- srv.Serve(ctx, lis) }()
	cc, err := grpc.NewClient("passthrough:///catalog",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cc.Close()
		cancel()
		if err := <-serveDone; err != nil {
			t.Errorf("Serve() = %v", err)
		}
		if err := <-feedDone; err != nil {
			t.Errorf("feed.Run() = %v", err)
		}
	})
	return &harness{svc: svc, client: catalogv1.NewCatalogServiceClient(cc)}, feed
}

// waitSubscribers waits until feed has n subscriptions: a stream's
// handler releases its subscription when the client goes away.
func waitSubscribers(t *testing.T, feed *events.Feed, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for feed.Subscribers() != n {
		if time.Now().After(deadline) {
			t.Fatalf("feed.Subscribers() = %d after 5 s, want %d", feed.Subscribers(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// watch opens WatchCatalog as an anonymous customer and waits for the
// response headers, after which every commit reaches the stream. The
// stream ends with cancel.
func (h *harness) watch(t *testing.T, req *catalogv1.WatchCatalogRequest) (grpc.ServerStreamingClient[catalogv1.WatchCatalogResponse], context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	stream, err := h.client.WatchCatalog(ctx, req)
	if err != nil {
		t.Fatalf("WatchCatalog() = %v", err)
	}
	if _, err := stream.Header(); err != nil {
		t.Fatalf("WatchCatalog() headers = %v", err)
	}
	return stream, cancel
}

// recv reads n changes, failing t if they take longer than 10 s.
func recv(t *testing.T, stream grpc.ServerStreamingClient[catalogv1.WatchCatalogResponse], n int) []*catalogv1.WatchCatalogResponse {
	t.Helper()
	type result struct {
		resp *catalogv1.WatchCatalogResponse
		err  error
	}
	out := make([]*catalogv1.WatchCatalogResponse, 0, n)
	for range n {
		ch := make(chan result, 1)
		go func() {
			r, err := stream.Recv()
			ch <- result{r, err}
		}()
		select {
		case r := <-ch:
			if r.err != nil {
				t.Fatalf("Recv() after %d of %d changes = %v", len(out), n, r.err)
			}
			out = append(out, r.resp)
		case <-time.After(10 * time.Second):
			t.Fatalf("Recv(): no change %d of %d within 10 s", len(out)+1, n)
		}
	}
	return out
}

// wantQuiet fails t if stream delivers a change within d; it ends the
// stream.
func wantQuiet(t *testing.T, stream grpc.ServerStreamingClient[catalogv1.WatchCatalogResponse], cancel context.CancelFunc, d time.Duration) {
	t.Helper()
	timer := time.AfterFunc(d, cancel)
	defer timer.Stop()
	resp, err := stream.Recv()
	if code := grpcstatus.Code(err); code != codes.Canceled {
		t.Errorf("Recv() = %v, %v; want no change (Canceled after %v)", resp, err, d)
	}
}

func (h *harness) setPrice(t *testing.T, p *catalogv1.Product, units int64) *catalogv1.Product {
	t.Helper()
	change := proto.CloneOf(p)
	change.Price = eur(units, 0)
	resp, err := h.client.UpdateProduct(callCtx(t, admin...), &catalogv1.UpdateProductRequest{
		Product: change, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"price"}},
	})
	if err != nil {
		t.Fatalf("UpdateProduct(price %d) = %v", units, err)
	}
	return resp.GetProduct()
}

func (h *harness) adjust(t *testing.T, sku string, delta int64) {
	t.Helper()
	_, err := h.client.AdjustStock(callCtx(t, admin...), &catalogv1.AdjustStockRequest{
		Sku: sku, Delta: delta, Reason: "restock", RequestId: uuid.NewString(),
	})
	if err != nil {
		t.Fatalf("AdjustStock(%s, %d) = %v", sku, delta, err)
	}
}

func priceChange(p *catalogv1.Product, units int64) *catalogv1.CatalogChange {
	return &catalogv1.CatalogChange{
		ProductId: p.GetId(), Sku: p.GetSku(), Category: p.GetCategory(),
		Kind: &catalogv1.CatalogChange_Price{Price: eur(units, 0)},
	}
}

func stockChange(p *catalogv1.Product, available int64) *catalogv1.CatalogChange {
	return &catalogv1.CatalogChange{
		ProductId: p.GetId(), Sku: p.GetSku(), Category: p.GetCategory(),
		Kind: &catalogv1.CatalogChange_Stock{Stock: &catalogv1.Stock{Sku: p.GetSku(), Available: available}},
	}
}

// wantChanges compares the changes of resps with want, ignoring the
// change times, and checks that the cursors increase from after.
func wantChanges(t *testing.T, resps []*catalogv1.WatchCatalogResponse, after int64, want ...*catalogv1.CatalogChange) {
	t.Helper()
	got := make([]*catalogv1.CatalogChange, len(resps))
	for i, r := range resps {
		got[i] = r.GetChange()
		if r.GetChange().GetChangeTime() == nil {
			t.Errorf("change %d has no change_time", i)
		}
		c, err := strconv.ParseInt(r.GetCursor(), 10, 64)
		if err != nil || c <= after {
			t.Errorf("change %d: cursor %q, want a number above %d", i, r.GetCursor(), after)
		}
		after = c
	}
	if diff := cmp.Diff(want, got, protocmp.Transform(), protocmp.IgnoreFields(&catalogv1.CatalogChange{}, "change_time")); diff != "" {
		t.Errorf("changes differ (-want +got):\n%s", diff)
	}
}

// TestWatchCatalogLiveAndResume: a watcher of one SKU sees its price and
// stock changes live and not the other SKU's; after disconnecting, it
// resumes from its last cursor and gets exactly what it missed, in order.
func TestWatchCatalogLiveAndResume(t *testing.T) {
	t.Parallel()
	h, feed := startWatch(t)
	a := h.create(t, knife("K-A", eur(20, 0)))
	b := h.create(t, knife("K-B", eur(30, 0)))

	stream, cancel := h.watch(t, &catalogv1.WatchCatalogRequest{Skus: []string{"K-A"}})
	a = h.setPrice(t, a, 25)
	h.adjust(t, "K-B", 5) // another SKU: filtered out
	h.adjust(t, "K-A", 7)
	got := recv(t, stream, 2)
	wantChanges(t, got, 0, priceChange(a, 25), stockChange(a, 7))
	waitSubscribers(t, feed, 1)
	cancel()
	waitSubscribers(t, feed, 0) // the handler let go when the client left
	last, _ := strconv.ParseInt(got[len(got)-1].GetCursor(), 10, 64)

	// Changes while nobody watches.
	a = h.setPrice(t, a, 26)
	_ = h.setPrice(t, b, 31)
	a = h.setPrice(t, a, 27)
	h.adjust(t, "K-A", -2)

	stream, cancel = h.watch(t, &catalogv1.WatchCatalogRequest{AfterCursor: got[len(got)-1].GetCursor(), Skus: []string{"K-A"}})
	wantChanges(t, recv(t, stream, 3), last, priceChange(a, 26), priceChange(a, 27), stockChange(a, 5))
	// Live again after the replay.
	h.adjust(t, "K-A", 1)
	wantChanges(t, recv(t, stream, 1), last, stockChange(a, 6))
	wantQuiet(t, stream, cancel, 200*time.Millisecond)
}

// TestWatchCatalogCategory: from the start of the outbox, a category
// filter keeps the creation changes (price, status, stock) of the products
// in it and below it.
func TestWatchCatalogCategory(t *testing.T) {
	t.Parallel()
	h, _ := startWatch(t)
	k := h.create(t, knife("K-1", eur(10, 0)))
	spade := knife("G-1", eur(15, 0))
	spade.Category = "garden/tools"
	h.create(t, spade)
	kitchenette := knife("K-2", eur(12, 0))
	kitchenette.Category = "kitchenette" // not below "kitchen"
	h.create(t, kitchenette)

	stream, cancel := h.watch(t, &catalogv1.WatchCatalogRequest{AfterCursor: "0", Category: "kitchen"})
	got := recv(t, stream, 3)
	wantChanges(t, got, 0, priceChange(k, 10),
		&catalogv1.CatalogChange{
			ProductId: k.GetId(), Sku: "K-1", Category: "kitchen/knives",
			Kind: &catalogv1.CatalogChange_Status{Status: catalogv1.ProductStatus_PRODUCT_STATUS_ACTIVE},
		},
		stockChange(k, 0))
	wantQuiet(t, stream, cancel, 200*time.Millisecond)
}

func TestWatchCatalogInvalidCursor(t *testing.T) {
	t.Parallel()
	h, _ := startWatch(t)
	for _, c := range []string{"abc", "-1", "1.5", fmt.Sprint(uint64(1) << 63)} {
		stream, err := h.client.WatchCatalog(callCtx(t), &catalogv1.WatchCatalogRequest{AfterCursor: c})
		if err == nil {
			_, err = stream.Recv()
		}
		wantStatus(t, "WatchCatalog(after_cursor "+c+")", err, codes.InvalidArgument, grpcserver.ReasonCursorInvalid, "after_cursor")
	}
}

func TestWatchCatalogWithoutFeed(t *testing.T) {
	t.Parallel()
	h := start(t)
	stream, err := h.client.WatchCatalog(callCtx(t), &catalogv1.WatchCatalogRequest{})
	if err == nil {
		_, err = stream.Recv()
	}
	wantStatus(t, "WatchCatalog()", err, codes.Unimplemented, "")
}

// TestWatchCatalogHidesDrafts: changes of a draft product reach catalog
// managers but not customers, like the drafts themselves. The draft is
// created between two active products, so the anonymous watcher's ordered
// stream proves its absence without waiting on a timer.
func TestWatchCatalogHidesDrafts(t *testing.T) {
	t.Parallel()
	h, _ := startWatch(t)
	h.create(t, knife("K-1", eur(10, 0)))
	draft := knife("D-1", eur(99, 0))
	draft.Status = catalogv1.ProductStatus_PRODUCT_STATUS_DRAFT
	h.create(t, draft)
	h.create(t, knife("M-1", eur(12, 0)))

	// Each product's creation is three changes: price, status, stock.
	anon, _ := h.watch(t, &catalogv1.WatchCatalogRequest{AfterCursor: "0"})
	for _, r := range recv(t, anon, 6) {
		if sku := r.GetChange().GetSku(); sku == "D-1" {
			t.Fatalf("an anonymous watcher received a change of the draft D-1: %v", r.GetChange())
		}
	}

	ctx, cancel := context.WithCancel(callCtx(t, admin...))
	t.Cleanup(cancel)
	stream, err := h.client.WatchCatalog(ctx, &catalogv1.WatchCatalogRequest{AfterCursor: "0"})
	if err != nil {
		t.Fatal(err)
	}
	drafts := 0
	for _, r := range recv(t, stream, 9) {
		if r.GetChange().GetSku() == "D-1" {
			drafts++
		}
	}
	if drafts != 3 {
		t.Errorf("an admin watcher received %d changes of the draft D-1, want its 3", drafts)
	}
}
