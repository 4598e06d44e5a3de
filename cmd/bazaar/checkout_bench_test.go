package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"

	"github.com/bazaarhq/bazaar/examples/helloworld"
	helloworldv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	orderv1 "github.com/bazaarhq/bazaar/gen/bazaar/order/v1"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// Issue 5's load: 16 concurrent buyers over a catalog of 50 products.
const (
	checkoutBuyers   = 16
	checkoutProducts = 50
	goodCard         = "4242424242424242"
)

// BenchmarkCheckout places orders end to end through `bazaar up` (identity,
// catalog, payment and order in one process, real gRPC on loopback, the
// full server chain): 16 buyers, each signed in as a customer of its own,
// place orders of 1-3 random products out of 50 with the good card in a
// closed loop until b.N orders are done. Every order must come back
// COMPLETED; anything else fails the benchmark. Reported: checkouts/s,
// p50-ms and p99-ms of PlaceOrder as a buyer sees it, and, for context, the
// same 16 callers' SayHello rate on a bare grpc.Server (echo-calls/s) and on
// `bazaar up`'s helloworld listener, which has the chain (chain-echo-calls/s),
// with checkouts/s as a fraction of the bare echo (checkout/echo).
//
// Legs: sqlite (each service's own SQLite file, the default), sqlite-cart
// (each checkout is AddCartItem per line, then PlaceOrder of the cart), and
// postgres (each service in its schema of a fresh database of
// BAZAAR_TEST_POSTGRES_URL's server; skipped when it is unset). The issue's
// target on SQLite: >= 300 checkouts/s with p99 <= 100 ms on 2 cores.
//
//	go test -run '^$' -bench Checkout -benchtime 2000x ./cmd/bazaar
func BenchmarkCheckout(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchCheckout(b, false) })
	b.Run("sqlite-cart", func(b *testing.B) { benchCheckout(b, true) })
	b.Run("postgres", func(b *testing.B) {
		base := os.Getenv("BAZAAR_TEST_POSTGRES_URL")
		if base == "" {
			b.Skip("BAZAAR_TEST_POSTGRES_URL is not set")
		}
		u := freshPostgresDatabase(b, base)
		var extra []string
		for _, svc := range []string{"identity", "catalog", "payment", "order"} {
			extra = append(extra, "--"+svc+"-database-url", u)
		}
		benchCheckout(b, false, extra...)
	})
}

func benchCheckout(b *testing.B, cart bool, extra ...string) {
	const adminPassword = "admin password 4 benchmarks"
	// Limits far above the load: the benchmark measures checkout, not the
	// limiter's refusals (the order service calls catalog and payment as
	// one caller, several calls per checkout).
	args := append([]string{"--admin-password", adminPassword,
		"--rate-limit", "1000000/1000000", "--anonymous-rate-limit", "1000000/1000000"}, extra...)
	addrs, _ := startUpIn(b, b.TempDir(), args...)
	ctx := b.Context()

	// Setup, untimed: the admin stocks the catalog, the buyers sign up.
	s := openShop(b, addrs, adminPassword)
	products := make([]string, checkoutProducts)
	for i := range products {
		products[i] = s.stockedProduct(b, fmt.Sprintf("BENCH-%03d", i), int64(5+i%20), 10_000_000)
	}
	buyers := make([]context.Context, checkoutBuyers)
	for i := range buyers {
		buyers[i] = bearer(ctx, signUp(b, s.id, fmt.Sprintf("buyer%02d@example.com", i)))
	}
	orders := s.orders
	checkout := func(buyer context.Context, rng *rand.Rand) error {
		picked := rng.Perm(checkoutProducts)[:1+rng.IntN(3)]
		var items []*orderv1.LineItem
		for _, p := range picked {
			items = append(items, &orderv1.LineItem{ProductId: products[p], Quantity: 1})
		}
		req := &orderv1.PlaceOrderRequest{IdempotencyKey: uuid.NewString(), CardNumber: goodCard}
		if cart {
			for _, it := range items {
				if _, err := orders.AddCartItem(buyer, &orderv1.AddCartItemRequest{ProductId: it.GetProductId(), Quantity: it.GetQuantity()}); err != nil {
					return fmt.Errorf("AddCartItem() = %w", err)
				}
			}
			req.Source = &orderv1.PlaceOrderRequest_UseCart{UseCart: true}
		} else {
			req.Source = &orderv1.PlaceOrderRequest_Items{Items: &orderv1.LineItems{Items: items}}
		}
		placed, err := orders.PlaceOrder(buyer, req)
		if err != nil {
			return fmt.Errorf("PlaceOrder() = %w", err)
		}
		if st := placed.GetOrder().GetStatus(); st != orderv1.OrderStatus_ORDER_STATUS_COMPLETED {
			return fmt.Errorf("PlaceOrder() = %v (%s), want COMPLETED", st, placed.GetOrder().GetCancelReasonCode())
		}
		return nil
	}
	// Warm up: connections, prepared statements, caches, the saga's workers.
	if _, err := closedLoop(checkoutBuyers*4, func(w int, rng *rand.Rand) error { return checkout(buyers[w], rng) }); err != nil {
		b.Fatal(err)
	}

	// The baselines, just before the timed part so they share its noise.
	echo := helloworldv1.NewGreeterServiceClient(bareEcho(b))
	chainEcho := helloworldv1.NewGreeterServiceClient(dial(b, addrs["helloworld"]))
	echoRate := func(c helloworldv1.GreeterServiceClient) float64 {
		call := func(int, *rand.Rand) error {
			_, err := c.SayHello(ctx, &helloworldv1.SayHelloRequest{Name: "bench"})
			return err
		}
		if _, err := closedLoop(checkoutBuyers*100, call); err != nil { // warm
			b.Fatal(err)
		}
		const n = checkoutBuyers * 1000
		took, err := closedLoop(n, call)
		if err != nil {
			b.Fatal(err)
		}
		return n / took.Seconds()
	}
	bare, chain := echoRate(echo), echoRate(chainEcho)

	// Timed: 16 buyers in a closed loop until b.N checkouts are done.
	jobs := make(chan struct{})
	results := make(chan []time.Duration, checkoutBuyers)
	errc := make(chan error, checkoutBuyers)
	var wg sync.WaitGroup
	for w := range checkoutBuyers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 5))
			var lat []time.Duration
			defer func() { results <- lat }()
			for range jobs {
				t0 := time.Now()
				if err := checkout(buyers[w], rng); err != nil {
					errc <- err
					for range jobs { // drain, so the producer does not block
					}
					return
				}
				lat = append(lat, time.Since(t0))
			}
		})
	}
	busy0, gc0 := cpuSeconds()
	proc0, procOK := processCPU()
	start := time.Now()
	n := 0
	for b.Loop() {
		jobs <- struct{}{}
		n++
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	busy1, gc1 := cpuSeconds()
	proc1, _ := processCPU()
	close(results)
	close(errc)
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	for l := range results {
		lat = append(lat, l...)
	}
	if len(lat) != n {
		b.Fatalf("%d checkouts completed, want %d", len(lat), n)
	}
	slices.Sort(lat)
	rate := float64(n) / elapsed.Seconds()
	b.ReportMetric(rate, "checkouts/s")
	b.ReportMetric(ms(percentile(lat, 0.50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
	b.ReportMetric(bare, "echo-calls/s")
	b.ReportMetric(chain, "chain-echo-calls/s")
	b.ReportMetric(rate/bare, "checkout/echo")
	// Where the cores went: the CPU the process used per checkout (user
	// plus system, from the kernel: 2 cores / this = the most checkouts/s
	// the machine could give, were nothing else running on it), and the
	// garbage collector's share of the time the runtime's Ps were busy.
	if procOK {
		b.ReportMetric((proc1-proc0)*1000/float64(n), "cpu-ms/checkout")
	}
	b.ReportMetric((gc1-gc0)/(busy1-busy0), "gc-share")
}

// processCPU returns the user plus system CPU seconds of this process
// from /proc/self/stat; false where there is none (not Linux).
func processCPU() (float64, bool) {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	// The fields after the command, which is in parentheses: state is the
	// first, utime and stime the 12th and 13th, in clock ticks (USER_HZ,
	// 100 on Linux).
	_, rest, ok := strings.Cut(string(stat), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return (utime + stime) / 100, true
}

// cpuSeconds returns the CPU time the runtime's Ps were busy (not idle)
// and the part of it the garbage collector took, since the process began.
func cpuSeconds() (busy, gc float64) {
	s := []metrics.Sample{
		{Name: "/cpu/classes/total:cpu-seconds"},
		{Name: "/cpu/classes/idle:cpu-seconds"},
		{Name: "/cpu/classes/gc/total:cpu-seconds"},
	}
	metrics.Read(s)
	return s[0].Value.Float64() - s[1].Value.Float64(), s[2].Value.Float64()
}

// closedLoop makes n calls with checkoutBuyers goroutines (worker w gets
// its own rng) and returns how long they took.
func closedLoop(n int, call func(w int, rng *rand.Rand) error) (time.Duration, error) {
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	start := time.Now()
	for w := range checkoutBuyers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := w; i < n; i += checkoutBuyers {
				if err := call(w, rng); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), first
}

// percentile of sorted, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// bareEcho serves the foundation's Greeter on a grpc.Server with nothing
// in its chain, on loopback, and returns a client of it.
func bareEcho(b *testing.B) *grpc.ClientConn {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer()
	helloworldv1.RegisterGreeterServiceServer(srv, helloworld.NewGreeter())
	go func() { _ = srv.Serve(lis) }()
	b.Cleanup(srv.Stop) // after the client's Close, registered below
	return dial(b, lis.Addr().String())
}

// freshPostgresDatabase creates a database of its own on base's server,
// dropped when b ends, and returns its URL: `bazaar up` puts each service
// in a schema named after it (sqldb.WithSchema), so runs need a database
// each to start empty.
func freshPostgresDatabase(b *testing.B, base string) string {
	b.Helper()
	ctx := b.Context()
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	name := "bazaar_bench_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	db, err := sqldb.Open(ctx, base, sqldb.WithMaxConns(1))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Writer().ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		_ = db.Close()
		b.Fatal(err)
	}
	_ = db.Close()
	// Registered before `bazaar up` starts, so it runs after it stopped.
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		db, err := sqldb.Open(ctx, base, sqldb.WithMaxConns(1))
		if err != nil {
			b.Errorf("drop database %s: %v", name, err)
			return
		}
		defer func() { _ = db.Close() }()
		if _, err := db.Writer().ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			b.Errorf("drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}
