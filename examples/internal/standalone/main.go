package standalone

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Main is a program's main: it calls run with a context that SIGINT or
// SIGTERM ends, the command-line arguments and os.Stdout. If run fails it
// prints "NAME: ERROR" to stderr and exits 1; a run that returns nil, or
// flag.ErrHelp after printing its usage, exits 0.
//
// main does nothing else, so that tests can call run with their own
// context and writer.
func Main(name string, run func(ctx context.Context, args []string, stdout io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}
