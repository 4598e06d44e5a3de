// Command server runs the calculator service on a Bazaar grpcx
// server until it receives SIGINT or SIGTERM, then drains gracefully.
//
// Usage:
//
//	server [-addr 127.0.0.1:50052]
//
// Once listening it prints "listening on ADDR" (the real port when -addr
// ends in :0), then logs failed calls. Try it with the client program next
// to it, or with grpcurl (reflection is on):
//
//	grpcurl -plaintext -d '{"a":{"int":7},"b":{"int":2}}' 127.0.0.1:50052 bazaar.examples.calculator.v1.CalculatorService/Divide
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/bazaarhq/bazaar/examples/calculator"
	calculatorv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/calculator/v1"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
	"github.com/bazaarhq/bazaar/internal/platform/obs"
)

// main only turns signals into a context and an error into the exit code;
// run does the work, so tests can call it with their own context and
// writer.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "calculator server:", err)
		os.Exit(1)
	}
}

// run parses args, serves the calculator on -addr until ctx ends, and returns
// nil after a graceful shutdown. It writes "listening on ADDR" and the
// server's log to stdout.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", "127.0.0.1:50052", "TCP address to listen on; port 0 picks a free port")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	log, err := obs.NewLogger(stdout, slog.LevelInfo, obs.LogText)
	if err != nil {
		return err
	}
	srv, err := grpcx.NewServer(grpcx.WithName("calculator"), grpcx.WithLogger(log))
	if err != nil {
		return err
	}
	calculatorv1.RegisterCalculatorServiceServer(srv, calculator.NewCalculator())

	var lc net.ListenConfig
	lis, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		return err
	}
	// Printed before serving starts, so it is the first line of output.
	fmt.Fprintf(stdout, "listening on %s\n", lis.Addr())
	if err := srv.Serve(ctx, lis); err != nil {
		return err
	}
	log.Info("stopped gracefully")
	return nil
}
