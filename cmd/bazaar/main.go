// Command bazaar is Bazaar's one binary.
//
//	bazaar up        run every service in one process (embedded SQLite)
//	bazaar version   print the version
//
// main only turns signals into context cancellation and errors into the exit
// code; run does the wiring, so tests drive the real binary logic.
package main

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

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bazaar:", err)
		}
		os.Exit(1)
	}
}

const usage = `usage: bazaar COMMAND [flags]

commands:
  up        run every service in one process and serve until SIGINT/SIGTERM
  certs     create the development CA and service certificates (for up --tls)
  seed      load the sample catalog (1,000 products with images), idempotently
  catalog   client commands: upload-image, download-image (against a running up)
  chat      support chat: --order ID (customer), --join ID (agent), --list (queue)
  demo      a narrated tour of every RPC type against a running up (or --self)
  bench     load scenarios (echo, browse, checkout, upload, notify, chat) with latency percentiles
  version   print the version and exit

Run 'bazaar COMMAND -h' for a command's flags.
`

// run executes one bazaar command. getenv supplies BAZAAR_* settings (flags
// win over the environment); stdout receives the command's output and logs.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "up":
		cfg, err := parseUpConfig(args[1:], getenv, stdout)
		if err != nil {
			return err
		}
		return up(ctx, cfg, stdout)
	case "seed":
		return seedCatalog(ctx, args[1:], getenv, stdout)
	case "catalog":
		return catalogCommand(ctx, args[1:], getenv, stdout)
	case "demo":
		return demoCommand(ctx, args[1:], getenv, stdout)
	case "bench":
		return benchCommand(ctx, args[1:], getenv, stdout)
	case "chat":
		return chatCommand(ctx, args[1:], getenv, os.Stdin, stdout)
	case "certs":
		return certs(args[1:], getenv, stdout)
	case "version":
		fmt.Fprintln(stdout, versionString())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stdout, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
