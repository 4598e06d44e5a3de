package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/stats"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
)

// TestBenchConnsAndCompression runs `bazaar bench --scenario
// list-products` against a fake catalog whose stats handler sees the
// connections and each call's grpc-encoding: --conns N must spread the
// workers over N connections, --compression gzip must compress every
// request (and so the responses: grpc-go answers in the request's
// encoding), and neither flag given must mean one plain connection.
func TestBenchConnsAndCompression(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		flags     []string
		wantConns int64
		wantEnc   string
	}{
		{"defaults", nil, 1, ""},
		{"conns 3", []string{"--conns", "3"}, 3, ""},
		{"conns 4 gzip", []string{"--conns", "4", "--compression", "gzip"}, 4, "gzip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := startFakeCatalog(t)
			args := append([]string{"--scenario", "list-products", "--addr", fake.addr, "--admin-addr", "",
				"--requests", "200", "--warmup", "0", "--concurrency", "8", "--json"}, tc.flags...)
			var out syncBuffer
			if err := benchCommand(t.Context(), args, noEnv, &out); err != nil {
				t.Fatalf("bazaar bench %q = %v\n%s", args, err, out.String())
			}
			if got := fake.conns.Load(); got != tc.wantConns {
				t.Errorf("bazaar bench %q: the server saw %d connections, want %d", args, got, tc.wantConns)
			}
			encs := fake.encodings()
			if len(encs) != 1 || encs[tc.wantEnc] == 0 {
				t.Errorf("bazaar bench %q: requests by grpc-encoding %v, want all %q", args, encs, tc.wantEnc)
			}
			sent, wire := fake.sent.Load(), fake.sentWire.Load()
			switch {
			case tc.wantEnc == "gzip" && wire*2 > sent:
				t.Errorf("bazaar bench %q: responses %d bytes, %d on the wire: want them compressed", args, sent, wire)
			case tc.wantEnc == "" && wire < sent:
				t.Errorf("bazaar bench %q: responses %d bytes, %d on the wire: want them uncompressed", args, sent, wire)
			}
		})
	}
	for _, bad := range [][]string{
		{"--conns", "0"}, {"--compression", "zstd-nope"}, {"--image-size", "0"}, {"--image-size", "10485761"},
	} {
		if err := benchCommand(t.Context(), bad, noEnv, &syncBuffer{}); err == nil {
			t.Errorf("bazaar bench %q = nil, want an error", bad)
		}
	}
}

// fakeCatalog serves ListProducts pages of 20 wordy products and records,
// through a stats handler, what the transport carried.
type fakeCatalog struct {
	catalogv1.UnimplementedCatalogServiceServer
	addr     string
	page     *catalogv1.ListProductsResponse
	conns    atomic.Int64
	sent     atomic.Int64 // response payload bytes, uncompressed
	sentWire atomic.Int64 // the same on the wire
	mu       sync.Mutex
	encs     map[string]int // requests by grpc-encoding
}

func startFakeCatalog(t *testing.T) *fakeCatalog {
	t.Helper()
	f := &fakeCatalog{page: &catalogv1.ListProductsResponse{}, encs: map[string]int{}}
	for i := range 20 {
		f.page.Products = append(f.page.Products, &catalogv1.Product{
			Id: fmt.Sprintf("p-%02d", i), Sku: fmt.Sprintf("SKU-%02d", i), Title: fmt.Sprintf("Walnut desk organiser %d", i),
			Description: strings.Repeat("Solid walnut, oiled by hand, with three trays and a pen groove. ", 4),
			Category:    "home", Status: catalogv1.ProductStatus_PRODUCT_STATUS_ACTIVE,
		})
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.StatsHandler(f))
	catalogv1.RegisterCatalogServiceServer(srv, f)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	f.addr = lis.Addr().String()
	return f
}

func (f *fakeCatalog) ListProducts(context.Context, *catalogv1.ListProductsRequest) (*catalogv1.ListProductsResponse, error) {
	return f.page, nil
}

func (f *fakeCatalog) encodings() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.encs {
		out[k] = v
	}
	return out
}

func (*fakeCatalog) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }

func (f *fakeCatalog) HandleRPC(_ context.Context, s stats.RPCStats) {
	switch s := s.(type) {
	case *stats.InHeader:
		f.mu.Lock()
		f.encs[s.Compression]++
		f.mu.Unlock()
	case *stats.OutPayload:
		f.sent.Add(int64(s.Length))
		f.sentWire.Add(int64(s.WireLength))
	}
}

func (*fakeCatalog) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }

func (f *fakeCatalog) HandleConn(_ context.Context, s stats.ConnStats) {
	if _, ok := s.(*stats.ConnBegin); ok {
		f.conns.Add(1)
	}
}

// BenchmarkListProductsWire is ListProducts, the first page of 20 of the
// seeded catalog (`bazaar seed`: 1,000 products with an image each), on a
// `bazaar up` of its own over loopback, uncompressed and gzip'd in the
// same run. Besides time and allocations it reports the response's bytes
// before compression (payload-B/op) and on the wire (wire-B/op: the
// message after compression plus gRPC's 5-byte frame header; HTTP/2
// frame headers not counted), and the CPU of this process (client and
// all the services) per call.
//
//	go test -run '^$' -bench ListProductsWire -benchtime 2000x ./cmd/bazaar
func BenchmarkListProductsWire(b *testing.B) {
	dir := b.TempDir()
	var out bytes.Buffer
	if err := run(b.Context(), []string{"seed", "--data-dir", dir}, noEnv, &out); err != nil {
		b.Fatalf("bazaar seed = %v\n%s", err, out.String())
	}
	addrs, _ := startUpIn(b, dir, "--rate-limit", "1000000/1000000", "--anonymous-rate-limit", "1000000/1000000")
	for _, enc := range []string{"identity", "gzip"} {
		b.Run(enc, func(b *testing.B) {
			var w wireCounter
			cc, err := grpc.NewClient(addrs["catalog"], grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithStatsHandler(&w), grpc.WithDefaultCallOptions(grpc.UseCompressor(enc)))
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = cc.Close() }()
			client := catalogv1.NewCatalogServiceClient(cc)
			req := &catalogv1.ListProductsRequest{PageSize: 20}
			if _, err := client.ListProducts(b.Context(), req); err != nil {
				b.Fatalf("ListProducts = %v", err)
			}
			w.payload.Store(0)
			w.wire.Store(0)
			b.ReportAllocs()
			b.SetParallelism(8) // 16 callers on 2 cores, as `bazaar bench`
			cpu0 := selfCPUTime()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := client.ListProducts(context.Background(), req); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(selfCPUTime()-cpu0)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(w.payload.Load())/float64(b.N), "payload-B/op")
			b.ReportMetric(float64(w.wire.Load())/float64(b.N), "wire-B/op")
		})
	}
}

// wireCounter adds up the sizes of the responses a client received.
type wireCounter struct{ payload, wire atomic.Int64 }

func (*wireCounter) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }

func (w *wireCounter) HandleRPC(_ context.Context, s stats.RPCStats) {
	if p, ok := s.(*stats.InPayload); ok {
		w.payload.Add(int64(p.Length))
		w.wire.Add(int64(p.WireLength))
	}
}

func (*wireCounter) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (*wireCounter) HandleConn(context.Context, stats.ConnStats)                       {}

// selfCPUTime is this process's user+system CPU time.
func selfCPUTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
