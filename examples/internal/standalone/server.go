package standalone

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
	"github.com/bazaarhq/bazaar/internal/platform/obs"
)

// Server describes one example server program:
//
//	server [-addr HOST:PORT]
type Server struct {
	// Name names the server in its logs and metrics (grpcx.WithName) and,
	// followed by " server", in the errors Main prints: "calculator".
	Name string
	// DefaultAddr is the default of -addr, the TCP address to listen on.
	DefaultAddr string
	// Register registers the program's services on srv. It must not be nil.
	Register func(srv *grpcx.Server)
}

// Run parses args, builds a grpcx.Server with a text logger at Info,
// registers the services on it and serves them on -addr until ctx ends.
// It returns nil after a graceful shutdown, or the error that stopped it:
// a bad flag or argument, or an address it cannot listen on. It writes
// "listening on ADDR" to stdout once listening (the real port when -addr
// ends in :0), before anything else, then the server's log.
func (s Server) Run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", s.DefaultAddr, "TCP address to listen on; port 0 picks a free port")
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
	srv, err := grpcx.NewServer(grpcx.WithName(s.Name), grpcx.WithLogger(log))
	if err != nil {
		return err
	}
	s.Register(srv)

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

// Main is the program's main (see the package function Main): it runs
// s.Run until SIGINT or SIGTERM, and exits 1 if it fails.
func (s Server) Main() {
	Main(s.Name+" server", s.Run)
}
