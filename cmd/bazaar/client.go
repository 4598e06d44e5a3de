package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
	"github.com/bazaarhq/bazaar/internal/platform/tlsx"
)

// clientFlags are the flags of the commands that call a running Bazaar as
// a client (`bazaar catalog ...`): where, how secured, as whom.
type clientFlags struct {
	service string
	addr    string
	tls     bool
	dataDir string
	token   string
	timeout time.Duration
}

// register adds the flags to fs; defaultAddr is the service's address
// under `bazaar up`'s defaults.
func (c *clientFlags) register(fs *flag.FlagSet, getenv func(string) string, service, defaultAddr string) {
	c.service = service
	fs.StringVar(&c.addr, "addr", defaultAddr, "address of the "+service+" service")
	fs.BoolVar(&c.tls, "tls", false, "connect with TLS 1.3 and the client certificate of `bazaar up --tls` (from --data-dir)")
	fs.StringVar(&c.dataDir, "data-dir", envOr(getenv, "DATA_DIR", "./bazaar-data"), "data directory holding certs/ (env BAZAAR_DATA_DIR)")
	fs.StringVar(&c.token, "token", getenv("BAZAAR_TOKEN"), "access token (the accessToken of Login) or API key, sent as a bearer token (env BAZAAR_TOKEN)")
	fs.DurationVar(&c.timeout, "timeout", time.Minute, "deadline of the whole command")
}

// dial returns a connection with the project's client stack (retries of
// UNAVAILABLE, deadlines, circuit breaker).
func (c *clientFlags) dial() (*grpc.ClientConn, error) {
	creds := insecure.NewCredentials()
	if c.tls {
		layout := tlsx.Layout{Dir: tlsx.CertsDir(c.dataDir)}
		r, err := tlsx.NewReloader(layout.CertFile(tlsx.ClientName), layout.KeyFile(tlsx.ClientName), layout.CACertFile())
		if err != nil {
			return nil, fmt.Errorf("client certificate (run `bazaar certs` or `bazaar up --tls` first): %w", err)
		}
		// Every service certificate carries the service's name.
		creds = tlsx.ClientCredentials(r, c.service)
	}
	return grpcx.NewClient(c.addr, grpcx.WithTransportCredentials(creds), grpcx.WithDefaultStreamTimeout(c.timeout))
}

// context returns the command's context: its deadline and, when a token
// is given, the authorization header.
func (c *clientFlags) context(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	if c.token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.token)
	}
	return ctx, cancel
}

// describe renders a gRPC status error with its details (reason, field
// violations, preconditions...), keeping it matchable with errors.Is/As.
func describe(err error) error {
	if _, ok := status.FromError(err); !ok {
		return err
	}
	return fmt.Errorf("%s%w", errs.FromError(err).String()+"\n", silentStatusError{err})
}

// silentStatusError wraps a status error and prints nothing, so that describe's
// text is not repeated.
type silentStatusError struct{ error }

func (silentStatusError) Error() string { return "" }

func (s silentStatusError) Unwrap() error { return s.error }
