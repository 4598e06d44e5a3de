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
	"os"
	"os/signal"
	"syscall"
	"time"

	helloworldv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "helloworld client:", err)
		os.Exit(1)
	}
}

// run parses args, makes the call they name and prints its result to
// stdout. A failed call's error describes the status in full.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "127.0.0.1:50051", "server address, host:port")
	timeout := fs.Duration("timeout", 30*time.Second, "deadline for the whole command")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("missing command: hello or stream")
	}
	if *timeout <= 0 {
		return fmt.Errorf("-timeout %v: want a positive duration", *timeout)
	}
	command, rest := fs.Arg(0), fs.Args()[1:]
	if command != "hello" && command != "stream" {
		fs.Usage()
		return fmt.Errorf("unknown command %q: want hello or stream", command)
	}

	// One connection for the program's life, built with the platform's
	// client stack: retries of UNAVAILABLE, keepalive, a circuit breaker.
	cc, err := grpcx.NewClient(*addr)
	if err != nil {
		return err
	}
	defer func() { _ = cc.Close() }()
	client := helloworldv1.NewGreeterServiceClient(cc)
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	if command == "hello" {
		return hello(ctx, client, rest, stdout)
	}
	return stream(ctx, client, rest, stdout)
}

// hello makes the unary call: hello NAME.
func hello(ctx context.Context, client helloworldv1.GreeterServiceClient, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("hello wants one NAME, got %d arguments", len(args))
	}
	resp, err := client.SayHello(ctx, &helloworldv1.SayHelloRequest{Name: args[0]})
	if err != nil {
		return &callError{call: "SayHello", err: err}
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
		return &callError{call: "SayHelloStream", err: err}
	}
	for {
		resp, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &callError{call: "SayHelloStream", err: err}
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

// callError is a failed call, described with everything its status holds.
type callError struct {
	call string
	err  error
}

func (e *callError) Unwrap() error { return e.err }

// Error describes the status: the call, then the code, the message and each
// google.rpc detail on its own line (errs.Details.String).
func (e *callError) Error() string {
	return e.call + " failed: " + errs.FromError(e.err).String()
}
