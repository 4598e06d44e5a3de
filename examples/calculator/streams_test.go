package calculator_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bazaarhq/bazaar/examples/calculator"
	"github.com/bazaarhq/bazaar/examples/internal/grpcxtest"
	calculatorv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/calculator/v1"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

func TestAverage(t *testing.T) {
	t.Parallel()
	client := startCalculator(t, calculator.WithMaxAverageCount(5))
	tests := []struct {
		name      string
		numbers   []*calculatorv1.Number
		want      string
		wantCount uint64
		wantErr   *wantError
	}{
		{name: "one int", numbers: []*calculatorv1.Number{pbInt(4)}, want: "decimal:4", wantCount: 1},
		{name: "ints", numbers: []*calculatorv1.Number{pbInt(1), pbInt(2), pbInt(3), pbInt(4)}, want: "decimal:2.5", wantCount: 4},
		{name: "mixed", numbers: []*calculatorv1.Number{pbInt(1), pbDec("0.5"), pbDec("-0.25")}, want: "decimal:0.416666666666666666666666666667", wantCount: 3},
		{name: "cancelling", numbers: []*calculatorv1.Number{pbInt(-3), pbDec("3.000")}, want: "decimal:0", wantCount: 2},
		// The sum is exact: two MaxInt64 do not overflow.
		{name: "no overflow", numbers: []*calculatorv1.Number{pbInt(math.MaxInt64), pbInt(math.MaxInt64)}, want: "decimal:9223372036854775807", wantCount: 2},
		{name: "at the cap", numbers: []*calculatorv1.Number{pbInt(1), pbInt(1), pbInt(1), pbInt(1), pbInt(6)}, want: "decimal:2", wantCount: 5},
		{name: "empty", wantErr: &wantError{code: codes.InvalidArgument, reason: "EMPTY_STREAM", field: "number"}},
		{name: "over the cap", numbers: []*calculatorv1.Number{pbInt(1), pbInt(1), pbInt(1), pbInt(1), pbInt(1), pbInt(1)},
			wantErr: &wantError{code: codes.ResourceExhausted, reason: "TOO_MANY_NUMBERS"}},
		{name: "invalid number", numbers: []*calculatorv1.Number{pbInt(1), pbDec("1e5")},
			wantErr: &wantError{code: codes.InvalidArgument, reason: "INVALID_REQUEST", field: "number.decimal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			call := fmt.Sprintf("client.Average(%s)", formatNumbers(tt.numbers))
			resp, err := average(callContext(t), client, tt.numbers)
			if tt.wantErr != nil {
				checkError(t, call, err, *tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("%s = %v, want %s", call, err, tt.want)
			}
			if got := formatNumber(resp.GetAverage()); got != tt.want || resp.GetCount() != tt.wantCount {
				t.Errorf("%s = %s (count %d), want %s (count %d)", call, got, resp.GetCount(), tt.want, tt.wantCount)
			}
		})
	}
}

// average sends numbers on one Average stream and returns the answer. A
// Send that fails (the server already answered with an error) stops the
// sending; the server's error comes from CloseAndRecv.
func average(ctx context.Context, client calculatorv1.CalculatorServiceClient, numbers []*calculatorv1.Number) (*calculatorv1.AverageResponse, error) {
	stream, err := client.Average(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range numbers {
		if err := stream.Send(&calculatorv1.AverageRequest{Number: n}); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, err
		}
	}
	return stream.CloseAndRecv()
}

func formatNumbers(ns []*calculatorv1.Number) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = formatNumber(n)
	}
	return strings.Join(s, ", ")
}

func TestPrimeFactors(t *testing.T) {
	t.Parallel()
	client := startCalculator(t)
	tests := []struct {
		n    int64
		want []int64
	}{
		{2, []int64{2}},
		{3, []int64{3}},
		{4, []int64{2, 2}},
		{12, []int64{2, 2, 3}},
		{97, []int64{97}},
		{360, []int64{2, 2, 2, 3, 3, 5}},
		{1 << 62, nil}, // 62 twos, built below
		{math.MaxInt64, []int64{7, 7, 73, 127, 337, 92737, 649657}},
		// The largest prime below 2⁶³: Miller-Rabin must say prime at once.
		{9223372036854775783, []int64{9223372036854775783}},
		// Two ~31-bit primes: Pollard's rho, not trial division.
		{2147483647 * 2147483629, []int64{2147483629, 2147483647}},
		// The square of the largest prime below √2⁶³.
		{3037000493 * 3037000493, []int64{3037000493, 3037000493}},
	}
	for i := range tests {
		if tests[i].n == 1<<62 {
			for range 62 {
				tests[i].want = append(tests[i].want, 2)
			}
		}
	}
	for _, tt := range tests {
		call := fmt.Sprintf("client.PrimeFactors(%d)", tt.n)
		t.Run(call, func(t *testing.T) {
			t.Parallel()
			got, err := primeFactors(callContext(t), client, tt.n)
			if err != nil {
				t.Fatalf("%s = %v, want %v", call, err, tt.want)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("%s = %v, want %v", call, got, tt.want)
			}
			checkFactorization(t, call, tt.n, got)
		})
	}
}

// primeFactors collects the factors streamed for n.
func primeFactors(ctx context.Context, client calculatorv1.CalculatorServiceClient, n int64) ([]int64, error) {
	stream, err := client.PrimeFactors(ctx, &calculatorv1.PrimeFactorsRequest{Number: n})
	if err != nil {
		return nil, err
	}
	var factors []int64
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return factors, nil
		}
		if err != nil {
			return factors, err
		}
		factors = append(factors, resp.GetFactor())
	}
}

// checkFactorization checks the contract of any factorization, independently
// of how it was computed: ascending, every factor prime (by math/big, which
// is exact below 2⁶⁴), product n.
func checkFactorization(t *testing.T, call string, n int64, factors []int64) {
	t.Helper()
	product := big.NewInt(1)
	for i, f := range factors {
		if i > 0 && f < factors[i-1] {
			t.Errorf("%s = %v, want ascending factors", call, factors)
		}
		if !big.NewInt(f).ProbablyPrime(0) {
			t.Errorf("%s: factor %d is not prime", call, f)
		}
		product.Mul(product, big.NewInt(f))
	}
	if product.Cmp(big.NewInt(n)) != 0 {
		t.Errorf("%s = %v, whose product is %v, want %d", call, factors, product, n)
	}
}

func TestRunningMax(t *testing.T) {
	t.Parallel()
	client := startCalculator(t)
	tests := []struct {
		name    string
		numbers []int64
		want    []int64
	}{
		{"rising and falling", []int64{3, 1, 4, 1, 5, -9, 2, 6}, []int64{3, 3, 4, 4, 5, 5, 5, 6}},
		// A running max that started at 0 would answer 0 here.
		{"all negative", []int64{-5, -3, -10}, []int64{-5, -3, -3}},
		{"extremes", []int64{math.MinInt64, math.MaxInt64, 0}, []int64{math.MinInt64, math.MaxInt64, math.MaxInt64}},
		{"none", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stream, err := client.RunningMax(callContext(t))
			if err != nil {
				t.Fatalf("client.RunningMax() = %v", err)
			}
			// Interleaved: each answer is read before the next number is
			// sent, which proves the server answers every message at once
			// rather than at the end of the stream.
			for i, n := range tt.numbers {
				if err := stream.Send(&calculatorv1.RunningMaxRequest{Number: n}); err != nil {
					t.Fatalf("RunningMax Send(%d) = %v", n, err)
				}
				resp, err := stream.Recv()
				if err != nil {
					t.Fatalf("RunningMax Recv after %v = %v", tt.numbers[:i+1], err)
				}
				if resp.GetMax() != tt.want[i] || resp.GetCount() != uint64(i+1) {
					t.Errorf("RunningMax after %v = max %d count %d, want max %d count %d",
						tt.numbers[:i+1], resp.GetMax(), resp.GetCount(), tt.want[i], i+1)
				}
			}
			if err := stream.CloseSend(); err != nil {
				t.Fatalf("RunningMax CloseSend() = %v", err)
			}
			if resp, err := stream.Recv(); !errors.Is(err, io.EOF) {
				t.Errorf("RunningMax Recv after CloseSend = %v, %v; want io.EOF (the handler returns nil)", resp, err)
			}
		})
	}
}

// observed records how each call of one method ended inside the server, so
// a test can prove that a handler returned, and when.
type observed struct {
	method string
	ended  chan error
}

func observe(method string) *observed {
	return &observed{method: method, ended: make(chan error, 16)}
}

func (o *observed) interceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	err := h(srv, ss)
	if info.FullMethod == o.method {
		o.ended <- err
	}
	return err
}

// wait returns how the next observed call ended, failing the test if no
// handler returns within d.
func (o *observed) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case err := <-o.ended:
		return err
	case <-timer.C:
		t.Fatalf("the %s handler did not return within %v", o.method, d)
		return nil
	}
}

// TestRunningMaxEndsWithClient proves the bidirectional handler returns as
// soon as its client cancels, even while it waits for a message.
func TestRunningMaxEndsWithClient(t *testing.T) {
	t.Parallel()
	obs := observe(calculatorv1.CalculatorService_RunningMax_FullMethodName)
	srv := newServer(t, grpcx.WithStreamInterceptors(obs.interceptor))
	calculatorv1.RegisterCalculatorServiceServer(srv, calculator.NewCalculator())
	cc, _ := grpcxtest.Serve(t, srv)
	client := calculatorv1.NewCalculatorServiceClient(cc)

	ctx, cancel := context.WithCancel(callContext(t))
	defer cancel()
	stream, err := client.RunningMax(ctx)
	if err != nil {
		t.Fatalf("client.RunningMax() = %v", err)
	}
	if err := stream.Send(&calculatorv1.RunningMaxRequest{Number: 1}); err != nil {
		t.Fatalf("RunningMax Send(1) = %v", err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatalf("RunningMax Recv() = %v", err)
	}
	cancel() // the handler is now blocked waiting for the next number
	if err := obs.wait(t, 5*time.Second); !errors.Is(err, context.Canceled) && status.Code(err) != codes.Canceled {
		t.Errorf("RunningMax handler returned %v after the client cancelled, want context.Canceled", err)
	}
}

// TestRunningMaxDrain proves an idle bidirectional stream does not hold a
// graceful shutdown for its grace period: the server's drain ends the
// handler at once and the client is told UNAVAILABLE SERVER_DRAINING, so it
// reconnects elsewhere.
func TestRunningMaxDrain(t *testing.T) {
	t.Parallel()
	srv := newServer(t, grpcx.WithShutdownGrace(time.Minute))
	calculatorv1.RegisterCalculatorServiceServer(srv, calculator.NewCalculator())
	cc, stop := grpcxtest.Serve(t, srv)
	client := calculatorv1.NewCalculatorServiceClient(cc)

	stream, err := client.RunningMax(callContext(t))
	if err != nil {
		t.Fatalf("client.RunningMax() = %v", err)
	}
	if err := stream.Send(&calculatorv1.RunningMaxRequest{Number: 1}); err != nil {
		t.Fatalf("RunningMax Send(1) = %v", err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatalf("RunningMax Recv() = %v", err)
	}

	start := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	_, err = stream.Recv()
	checkError(t, "RunningMax Recv() during shutdown", err, wantError{code: codes.Unavailable, reason: "SERVER_DRAINING"})
	if err := <-stopped; err != nil {
		t.Errorf("Server.Serve() = %v, want nil after a graceful stop", err)
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("shutdown took %v with an idle RunningMax stream, want far less than the 1m grace", elapsed)
	}
}
