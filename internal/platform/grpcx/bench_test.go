package grpcx_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	hellov1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
	"github.com/bazaarhq/bazaar/internal/platform/obs"
)

// BenchmarkUnary compares one unary call through the full server chain
// (recovery, request id, Prometheus, access log at Info, error mapping,
// policy check, protovalidate, and tracing with an SDK tracer that samples
// no new traces) against the same call on a bare grpc.Server, over loopback TCP in
// the same run. The target: full >= 0.75 x bare throughput.
func BenchmarkUnary(b *testing.B) {
	b.Run("bare", func(b *testing.B) {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		s := grpc.NewServer()
		hellov1.RegisterGreeterServiceServer(s, &greeter{})
		go func() { _ = s.Serve(lis) }()
		defer s.Stop()
		benchCalls(b, lis.Addr().String())
	})
	log, err := obs.NewLogger(io.Discard, slog.LevelInfo, obs.LogJSON)
	if err != nil {
		b.Fatal(err)
	}
	// Tracing as production runs it with an exporter and sampling off.
	off, err := obs.NewTracing(context.Background(), obs.TracingConfig{Exporter: tracetest.NewInMemoryExporter(), SampleRatio: 0})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = off.Shutdown(context.Background()) }()
	noTracing, err := obs.NewTracing(context.Background(), obs.TracingConfig{})
	if err != nil {
		b.Fatal(err)
	}
	metrics := obs.NewMetrics()
	for _, v := range []struct {
		name string
		opts []grpcx.ServerOption
	}{
		{"chain", []grpcx.ServerOption{grpcx.WithLogger(log)}},
		{"chain+metrics", []grpcx.ServerOption{grpcx.WithLogger(log), grpcx.WithMetrics(metrics)}},
		// What `bazaar up` runs with no OTLP endpoint.
		{"full-no-exporter", []grpcx.ServerOption{grpcx.WithLogger(log), grpcx.WithMetrics(metrics), grpcx.WithTracing(noTracing)}},
		// The figure: everything on, an SDK tracer sampling no new traces.
		{"full", []grpcx.ServerOption{grpcx.WithLogger(log), grpcx.WithMetrics(metrics), grpcx.WithTracing(off)}},
	} {
		b.Run(v.name, func(b *testing.B) {
			srv, err := grpcx.NewServer(v.opts...)
			if err != nil {
				b.Fatal(err)
			}
			hellov1.RegisterGreeterServiceServer(srv, &greeter{})
			cc := startServer(b, srv)
			benchCalls(b, cc.Target())
		})
	}
}

func benchCalls(b *testing.B, addr string) {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Close()
	benchSayHello(b, hellov1.NewGreeterServiceClient(cc), 16)
}

// benchSayHello calls c.SayHello from GOMAXPROCS×parallelism goroutines
// for b.N calls, after one untimed call, and reports the process's CPU
// time per call.
func benchSayHello(b *testing.B, c hellov1.GreeterServiceClient, parallelism int) {
	b.Helper()
	req := &hellov1.SayHelloRequest{Name: "bench"}
	if _, err := c.SayHello(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(parallelism)
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.SayHello(context.Background(), req); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	// CPU time per call (client and server, this process) is steadier than
	// wall time on a shared machine: other processes' load does not count.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
