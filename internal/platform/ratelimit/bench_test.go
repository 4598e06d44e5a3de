package ratelimit_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"

	"google.golang.org/grpc"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/ratelimit"
)

// BenchmarkAllow measures Allow from every core at once over many callers:
// "tracked", all callers fit (the steady state); "evicting", ten times more
// callers than the limiter keeps, so most calls create a bucket and evict
// one.
func BenchmarkAllow(b *testing.B) {
	const callers = 100_000
	keys := make([]string, callers)
	for i := range keys {
		keys[i] = "user:" + strconv.Itoa(i)
	}
	for _, bc := range []struct {
		name    string
		maxKeys int
	}{
		{"tracked", callers},
		{"evicting", callers / 10},
	} {
		b.Run(bc.name, func(b *testing.B) {
			l, err := ratelimit.New(ratelimit.WithMaxKeys(bc.maxKeys))
			if err != nil {
				b.Fatalf("New() = %v", err)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := rand.IntN(callers)
				for pb.Next() {
					l.Allow(keys[i], 1, false)
					i = (i + 7919) % callers // a prime stride visits every key
				}
			})
		})
	}
}

// BenchmarkUnaryInterceptor measures what the interceptor adds to an
// admitted call: the key, the cost lookup and Allow.
func BenchmarkUnaryInterceptor(b *testing.B) {
	l, err := ratelimit.New(ratelimit.WithRate(1e9, 1e9))
	if err != nil {
		b.Fatalf("New() = %v", err)
	}
	unary := l.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: login}
	handler := func(context.Context, any) (any, error) { return nil, nil }
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{Kind: auth.User, Subject: "u1"})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := unary(ctx, nil, info, handler); err != nil {
				b.Fatal(err)
			}
		}
	})
}
