package grpcx_test

import (
	"context"
	"net"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	hellov1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// transportVariant is a set of transport options applied to both a grpcx
// server and a grpcx client, to compare with the builders' defaults.
type transportVariant struct {
	name   string
	server []grpcx.ServerOption
	client []grpcx.ClientOption
}

// transportVariants are the options docs/performance.md ("Comparisons")
// weighs against the defaults.
func transportVariants() []transportVariant {
	aggressive := grpcx.DefaultLimits()
	aggressive.KeepaliveMinTime = time.Second
	aggressive.KeepaliveTime, aggressive.KeepaliveTimeout = time.Second, time.Second
	return []transportVariant{
		// grpc-go 1.85's defaults, which grpcx keeps: each transport's
		// 32 KiB write buffer is taken from a pool for a flush and given
		// back after it (SharedWriteBuffer, on by default since grpc-go
		// 1.7x, the option deprecated), and so is its read buffer
		// (GRPC_GO_EXPERIMENTAL_HTTP_FRAMER_READ_BUFFER_POOLING, default
		// true).
		{name: "default"},
		// The write buffers held for each connection's life, as before.
		{
			name: "unshared-write-buffer",
			//nolint:staticcheck // SA1019: the deprecated option is the only way to turn sharing off, which is what is measured
			server: []grpcx.ServerOption{grpcx.WithServerOptions(grpc.SharedWriteBuffer(false))},
			//nolint:staticcheck // SA1019: as above
			client: []grpcx.ClientOption{grpcx.WithDialOptions(grpc.WithSharedWriteBuffer(false))},
		},
		// Read and write buffers of 64 KiB instead of 32 KiB on both sides.
		{
			name: "buffers-64k",
			server: []grpcx.ServerOption{grpcx.WithServerOptions(
				grpc.ReadBufferSize(64<<10), grpc.WriteBufferSize(64<<10))},
			client: []grpcx.ClientOption{grpcx.WithDialOptions(
				grpc.WithReadBufferSize(64<<10), grpc.WithWriteBufferSize(64<<10))},
		},
		// The most aggressive keepalive grpc-go allows: the client pings
		// after 10 s without reads (grpc-go's floor), even with no call in
		// flight; the server after 1 s, and tolerates pings every second.
		{
			name:   "aggressive-keepalive",
			server: []grpcx.ServerOption{grpcx.WithLimits(aggressive)},
			client: []grpcx.ClientOption{grpcx.WithKeepalive(keepalive.ClientParameters{
				Time: 10 * time.Second, Timeout: time.Second, PermitWithoutStream: true,
			})},
		},
	}
}

// startVariant serves the greeter on a grpcx server with v's options on
// loopback TCP, until the benchmark ends, and returns its address.
func startVariant(b *testing.B, v transportVariant) string {
	b.Helper()
	srv, err := grpcx.NewServer(v.server...)
	if err != nil {
		b.Fatal(err)
	}
	hellov1.RegisterGreeterServiceServer(srv, &greeter{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("Serve() = %v", err)
		}
	})
	return lis.Addr().String()
}

// BenchmarkTransportEcho is SayHello through grpcx's server and client,
// 16 callers on one connection over loopback TCP, with each transport
// variant; compare each to "default" of the same run:
//
//	go test -run '^$' -bench TransportEcho -count 3 ./internal/platform/grpcx
func BenchmarkTransportEcho(b *testing.B) {
	for _, v := range transportVariants() {
		b.Run(v.name, func(b *testing.B) {
			addr := startVariant(b, v)
			cc, err := grpcx.NewClient(addr, v.client...)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = cc.Close() }()
			benchSayHello(b, hellov1.NewGreeterServiceClient(cc), 8) // 16 callers on 2 cores
		})
	}
}

// idleConns is how many connections BenchmarkIdleConnMemory holds.
const idleConns = 1000

// BenchmarkIdleConnMemory opens idleConns grpcx client connections to one
// grpcx server (both in this process), makes one call on each so that
// both ends of every transport have been used, and reports the heap in
// use per idle connection, client and server side together
// (runtime/metrics /memory/classes/heap/objects:bytes after a GC, less
// the same before the connections were opened):
//
//	go test -run '^$' -bench IdleConnMemory -benchtime 3x ./internal/platform/grpcx
func BenchmarkIdleConnMemory(b *testing.B) {
	for _, v := range transportVariants() {
		if v.name == "aggressive-keepalive" {
			continue // pings, not buffers: nothing to hold
		}
		b.Run(v.name, func(b *testing.B) {
			addr := startVariant(b, v)
			var total float64
			for range b.N {
				total += idleHeapPerConn(b, addr, v.client)
			}
			b.ReportMetric(total/float64(b.N), "heap-B/conn")
		})
	}
}

func idleHeapPerConn(b *testing.B, addr string, opts []grpcx.ClientOption) float64 {
	b.Helper()
	before := heapInUse()
	ccs := make([]*grpc.ClientConn, 0, idleConns)
	defer func() {
		for _, cc := range ccs {
			_ = cc.Close()
		}
	}()
	req := &hellov1.SayHelloRequest{Name: "idle"}
	for range idleConns {
		cc, err := grpcx.NewClient(addr, opts...)
		if err != nil {
			b.Fatal(err)
		}
		ccs = append(ccs, cc)
		if _, err := hellov1.NewGreeterServiceClient(cc).SayHello(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond) // let the last writes finish and their buffers go back
	return float64(heapInUse()-before) / idleConns
}

// heapInUse is the bytes of live heap objects after a full GC.
func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64()) //nolint:gosec // a heap fits an int64
}
