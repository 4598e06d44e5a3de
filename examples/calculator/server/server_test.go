package main

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/examples/internal/standalonetest"
	calculatorv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/calculator/v1"
)

// TestServer runs this program's server on a free loopback port and calls
// the calculator over real TCP, so what is this program's own is tested: the
// service it registers and the name it logs under. What every example
// server does (flags, the listening line, the text log, the graceful stop)
// is standalone.Server's, tested in its package.
func TestServer(t *testing.T) {
	t.Parallel()
	p := standalonetest.Start(t, server.Run, "-addr", "127.0.0.1:0")
	client := calculatorv1.NewCalculatorServiceClient(p.Dial(t))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	resp, err := client.Divide(ctx, &calculatorv1.DivideRequest{
		A: &calculatorv1.Number{Value: &calculatorv1.Number_Int{Int: 7}},
		B: &calculatorv1.Number{Value: &calculatorv1.Number_Int{Int: 2}},
	})
	if err != nil || resp.GetQuotient().GetInt() != 3 || resp.GetRemainder() != 1 {
		t.Errorf("client.Divide(7, 2) = %v, %v; want 3 remainder 1", resp, err)
	}
	stream, err := client.PrimeFactors(ctx, &calculatorv1.PrimeFactorsRequest{Number: 12})
	if err != nil {
		t.Fatalf("client.PrimeFactors(12) = %v", err)
	}
	var got []int64
	for {
		resp, err := stream.Recv()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Errorf("PrimeFactors Recv() = %v", err)
			}
			break
		}
		got = append(got, resp.GetFactor())
	}
	if !slices.Equal(got, []int64{2, 2, 3}) {
		t.Errorf("client.PrimeFactors(12) = %v, want [2 2 3]", got)
	}
	if _, err := client.Divide(ctx, &calculatorv1.DivideRequest{
		A: &calculatorv1.Number{Value: &calculatorv1.Number_Int{Int: 1}},
		B: &calculatorv1.Number{Value: &calculatorv1.Number_Int{Int: 0}},
	}); err == nil {
		t.Errorf("client.Divide(1, 0) = nil error, want InvalidArgument")
	}

	p.Stop(t)
	if out, want := p.Output(), "server=calculator method=/bazaar.examples.calculator.v1.CalculatorService/Divide code=InvalidArgument"; !strings.Contains(out, want) {
		t.Errorf("server.Run() output = %q, want it to log the failed call %q", out, want)
	}
}
