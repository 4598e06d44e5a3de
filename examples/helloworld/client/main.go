// Command client calls the helloworld Greeter service.
//
// Usage:
//
//	client [-addr 127.0.0.1:50051] [-timeout 30s] hello NAME
//	client [-addr 127.0.0.1:50051] [-timeout 30s] stream NAME [-count 5] [-interval 500ms]
//
// hello makes one unary call and prints the greeting; stream prints each
// greeting of a server stream as it arrives. A failed call prints its gRPC
// code, message and every google.rpc error detail (reason, field
// violations, …) to stderr and exits 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/bazaarhq/bazaar/examples/internal/standalone"
	helloworldv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
)

const usage = `usage:
  client [flags] hello NAME
  client [flags] stream NAME [-count N] [-interval D]

flags:
`

// main only turns signals into a context and an error into the exit code;
// run does the work, so tests can call it with their own context and
// writer.
func main() {
	standalone.Main("helloworld client", run)
}

// run parses args, makes the call they name and prints its result to
// stdout. A failed call's error describes the status in full.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	// The command line, and the program's one connection, built with the
	// platform's client stack (grpcx.NewClient): retries of UNAVAILABLE,
	// keepalive, a circuit breaker.
	cl, cc, err := standalone.Client{
		DefaultAddr: "127.0.0.1:50051",
		Usage:       usage,
		Commands:    []string{"hello", "stream"},
	}.Dial(args, stdout)
	if err != nil {
		return err
	}
	defer func() { _ = cc.Close() }()
	client := helloworldv1.NewGreeterServiceClient(cc)
	ctx, cancel := context.WithTimeout(ctx, cl.Timeout)
	defer cancel()

	if cl.Command == "hello" {
		return hello(ctx, client, cl.Args, stdout)
	}
	return stream(ctx, client, cl.Args, stdout)
}

// hello makes the unary call: hello NAME.
func hello(ctx context.Context, client helloworldv1.GreeterServiceClient, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("hello wants one NAME, got %d arguments", len(args))
	}
	resp, err := client.SayHello(ctx, &helloworldv1.SayHelloRequest{Name: args[0]})
	if err != nil {
		return &standalone.CallError{Call: "SayHello", Err: err}
	}
	fmt.Fprintln(stdout, resp.GetMessage())
	return nil
}

// stream makes the server-streaming call: stream NAME [-count N]
// [-interval D], flags before or after NAME.
func stream(ctx context.Context, client helloworldv1.GreeterServiceClient, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("stream", flag.ContinueOnError)
	fs.SetOutput(stdout)
	count := fs.Uint("count", 5, "how many greetings")
	interval := fs.Duration("interval", 500*time.Millisecond, "pause between greetings, in whole milliseconds")
	names, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(names) != 1 {
		return fmt.Errorf("stream wants one NAME, got %d arguments", len(names))
	}
	// Only what does not fit the request's types is refused here; the
	// server's validation judges the rest and says which field is wrong.
	if *count > math.MaxUint32 {
		return fmt.Errorf("-count %d does not fit in 32 bits", *count)
	}
	if *interval < 0 || interval.Milliseconds() > math.MaxUint32 {
		return fmt.Errorf("-interval %v: want 0 or more, in milliseconds that fit in 32 bits", *interval)
	}

	s, err := client.SayHelloStream(ctx, &helloworldv1.SayHelloStreamRequest{
		Name:       names[0],
		Count:      uint32(*count),
		IntervalMs: uint32(interval.Milliseconds()),
	})
	if err != nil {
		return &standalone.CallError{Call: "SayHelloStream", Err: err}
	}
	for {
		resp, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &standalone.CallError{Call: "SayHelloStream", Err: err}
		}
		fmt.Fprintf(stdout, "%d: %s\n", resp.GetSequence(), resp.GetMessage())
	}
}

// parseInterleaved parses fs's flags wherever they appear among args and
// returns the other arguments, in order. "--" ends the flags.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		if consumed := len(args) - fs.NArg(); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, fs.Args()...), nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
