// Command client calls the calculator service: every RPC type from the
// command line.
//
// Usage:
//
//	client [-addr 127.0.0.1:50052] [-timeout 30s] COMMAND ARGS...
//
//	add A B      a + b              (unary)
//	sub A B      a - b              (unary)
//	mul A B      a × b              (unary)
//	div A B      a ÷ b              (unary)
//	avg N...     mean of the Ns     (client streaming)
//	factor N     prime factors of N (server streaming)
//	max N...     running maximum    (bidirectional streaming)
//
// A number containing '.' is sent as a decimal ("2.50"), any other as an
// int64; negative numbers need no quoting ("sub -5 3"). A failed call
// prints its gRPC code, message and every google.rpc error detail (reason,
// field violations, quota, …) to stderr and exits 1, e.g.
//
//	$ client div 1 0
//	calculator client: Divide failed: InvalidArgument: b: the divisor must not be zero
//	  reason: DIVISION_BY_ZERO (bazaar.dev)
//	  request_id: …
//	  field b: the divisor must not be zero
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/bazaarhq/bazaar/examples/internal/standalone"
	calculatorv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/calculator/v1"
)

const usage = `usage: client [flags] COMMAND ARGS...

commands:
  add A B     a + b               (unary)
  sub A B     a - b               (unary)
  mul A B     a × b               (unary)
  div A B     a ÷ b               (unary)
  avg N...    mean of the Ns      (client streaming)
  factor N    prime factors of N  (server streaming)
  max N...    running maximum     (bidirectional streaming)

A number containing '.' is a decimal, any other an int64.

flags:
`

// main only turns signals into a context and an error into the exit code;
// run does the work, so tests can call it with their own context and
// writer.
func main() {
	standalone.Main("calculator client", run)
}

// command is one subcommand: it checks its arguments, then calls.
type command func(ctx context.Context, client calculatorv1.CalculatorServiceClient, args []string, stdout io.Writer) error

// run parses args, makes the call they name and prints its result to
// stdout. A failed call's error describes the status in full.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	commands := map[string]command{
		"add": add, "sub": subtract, "mul": multiply, "div": divide,
		"avg": average, "factor": factor, "max": runningMax,
	}
	// The command line, and the program's one connection, built with the
	// platform's client stack (grpcx.NewClient): retries of UNAVAILABLE,
	// keepalive, a circuit breaker.
	cl, cc, err := standalone.Client{
		DefaultAddr: "127.0.0.1:50052",
		Usage:       usage,
		Commands:    slices.Sorted(maps.Keys(commands)),
	}.Dial(args, stdout)
	if err != nil {
		return err
	}
	defer func() { _ = cc.Close() }()
	ctx, cancel := context.WithTimeout(ctx, cl.Timeout)
	defer cancel()
	return commands[cl.Command](ctx, calculatorv1.NewCalculatorServiceClient(cc), cl.Args, stdout)
}

func add(ctx context.Context, client calculatorv1.CalculatorServiceClient, args []string, stdout io.Writer) error {
	a, b, err := twoNumbers("add", args)
	if err != nil {
		return err
	}
	resp, err := client.Add(ctx, &calculatorv1.AddRequest{A: a, B: b})
	if err != nil {
		return &standalone.CallError{Call: "Add", Err: err}
	}
	fmt.Fprintln(stdout, formatNumber(resp.GetResult()))
	return nil
}

func subtract(ctx context.Context, client calculatorv1.CalculatorServiceClient, args []string, stdout io.Writer) error {
	a, b, err := twoNumbers("sub", args)
	if err != nil {
		return err
	}
	resp, err := client.Subtract(ctx, &calculatorv1.SubtractRequest{A: a, B: b})
	if err != nil {
		return &standalone.CallError{Call: "Subtract", Err: err}
	}
	fmt.Fprintln(stdout, formatNumber(resp.GetResult()))
	return nil
}

func multiply(ctx context.Context, client calculatorv1.CalculatorServiceClient, args []string, stdout io.Writer) error {
	a, b, err := twoNumbers("mul", args)
	if err != nil {
		return err
	}
	resp, err := client.Multiply(ctx, &calculatorv1.MultiplyRequest{A: a, B: b})
	if err != nil {
		return &standalone.CallError{Call: "Multiply", Err: err}
	}
	fmt.Fprintln(stdout, formatNumber(resp.GetResult()))
	return nil
}

// divide prints "Q remainder R" for two ints, "Q" for an exact decimal
// quotient and "Q (rounded)" for a rounded one.
func divide(ctx context.Context, client calculatorv1.CalculatorServiceClient, args []string, stdout io.Writer) error {
	a, b, err := twoNumbers("div", args)
	if err != nil {
		return err
	}
	resp, err := client.Divide(ctx, &calculatorv1.DivideRequest{A: a, B: b})
	if err != nil {
		return &standalone.CallError{Call: "Divide", Err: err}
	}
	switch {
	case resp.Remainder != nil:
		fmt.Fprintf(stdout, "%s remainder %d\n", formatNumber(resp.GetQuotient()), resp.GetRemainder())
	case resp.GetExact():
		fmt.Fprintln(stdout, formatNumber(resp.GetQuotient()))
	default:
		fmt.Fprintf(stdout, "%s (rounded)\n", formatNumber(resp.GetQuotient()))
	}
	return nil
}

// average streams the numbers to the server, closes its side and prints
// the one answer. With no numbers it still makes the call, so the server's
// EMPTY_STREAM error can be seen.
func average(ctx context.Context, client calculatorv1.CalculatorServiceClient, args []string, stdout io.Writer) error {
	numbers, err := parseNumbers(args)
	if err != nil {
		return err
	}
	stream, err := client.Average(ctx)
	if err != nil {
		return &standalone.CallError{Call: "Average", Err: err}
	}
	for _, n := range numbers {
		if err := stream.Send(&calculatorv1.AverageRequest{Number: n}); err != nil {
			// io.EOF: the server ended the call early; CloseAndRecv
			// returns its status.
			if errors.Is(err, io.EOF) {
				break
			}
			return &standalone.CallError{Call: "Average", Err: err}
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return &standalone.CallError{Call: "Average", Err: err}
	}
	fmt.Fprintf(stdout, "%s (average of %d)\n", formatNumber(resp.GetAverage()), resp.GetCount())
	return nil
}

// factor prints each prime factor as the server streams it.
func factor(ctx context.Context, client calculatorv1.CalculatorServiceClient, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("factor wants one integer N, got %d arguments", len(args))
	}
	n, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil {
		return fmt.Errorf("factor: %q is not an int64", args[0])
	}
	stream, err := client.PrimeFactors(ctx, &calculatorv1.PrimeFactorsRequest{Number: n})
	if err != nil {
		return &standalone.CallError{Call: "PrimeFactors", Err: err}
	}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &standalone.CallError{Call: "PrimeFactors", Err: err}
		}
		fmt.Fprintln(stdout, resp.GetFactor())
	}
}

// runningMax sends every number from one goroutine while this one prints
// the answers as they arrive: the two directions of a bidirectional stream
// are independent, and a client that sent everything before reading could
// stall once flow-control windows fill.
func runningMax(ctx context.Context, client calculatorv1.CalculatorServiceClient, args []string, stdout io.Writer) error {
	numbers := make([]int64, len(args))
	for i, a := range args {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			return fmt.Errorf("max: %q is not an int64", a)
		}
		numbers[i] = n
	}
	// Cancelling on return ends the stream, and with it a sender still
	// blocked in Send, whatever happened.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.RunningMax(ctx)
	if err != nil {
		return &standalone.CallError{Call: "RunningMax", Err: err}
	}
	sent := make(chan error, 1)
	go func() {
		for _, n := range numbers {
			if err := stream.Send(&calculatorv1.RunningMaxRequest{Number: n}); err != nil {
				// io.EOF means the call ended and Recv returns why; any
				// other error is this side's, and ends the call.
				if errors.Is(err, io.EOF) {
					err = nil
				} else {
					cancel()
				}
				sent <- err
				return
			}
		}
		sent <- stream.CloseSend()
	}()
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			cancel()
			if sendErr := <-sent; sendErr != nil {
				err = sendErr // the cause; Recv only saw the cancellation
			}
			return &standalone.CallError{Call: "RunningMax", Err: err}
		}
		fmt.Fprintf(stdout, "max %d after %d\n", resp.GetMax(), resp.GetCount())
	}
	if err := <-sent; err != nil {
		return &standalone.CallError{Call: "RunningMax", Err: err}
	}
	return nil
}

// twoNumbers parses the two operands of a binary command.
func twoNumbers(name string, args []string) (*calculatorv1.Number, *calculatorv1.Number, error) {
	if len(args) != 2 {
		return nil, nil, fmt.Errorf("%s wants two numbers A B, got %d arguments", name, len(args))
	}
	ns, err := parseNumbers(args)
	if err != nil {
		return nil, nil, err
	}
	return ns[0], ns[1], nil
}

// parseNumbers reads numbers as the command line writes them: with a '.'
// a decimal, which is sent as typed for the server to validate (so that
// its field violations can be seen), otherwise an int64.
func parseNumbers(args []string) ([]*calculatorv1.Number, error) {
	ns := make([]*calculatorv1.Number, len(args))
	for i, a := range args {
		if strings.Contains(a, ".") {
			ns[i] = &calculatorv1.Number{Value: &calculatorv1.Number_Decimal{Decimal: a}}
			continue
		}
		v, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an int64 nor a decimal with a '.'", a)
		}
		ns[i] = &calculatorv1.Number{Value: &calculatorv1.Number_Int{Int: v}}
	}
	return ns, nil
}

func formatNumber(n *calculatorv1.Number) string {
	if d, ok := n.GetValue().(*calculatorv1.Number_Decimal); ok {
		return d.Decimal
	}
	return strconv.FormatInt(n.GetInt(), 10)
}
