package main

import (
	"fmt"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
	"github.com/bazaarhq/bazaar/internal/platform/tlsx"
)

// transport decides how the process's listeners and internal connections
// are secured: TLS 1.3 with certificates that reload from disk, or
// plaintext for local learning (said loudly at start).
type transport struct {
	tls    bool
	mode   tlsx.ClientAuthMode
	layout tlsx.Layout
	log    *slog.Logger
	certs  map[string]*tlsx.Reloader // per service
}

func newTransport(cfg upConfig, log *slog.Logger) (*transport, error) {
	t := &transport{tls: cfg.TLS, mode: cfg.ClientCerts, log: log, certs: map[string]*tlsx.Reloader{}}
	if !cfg.TLS {
		log.Warn("gRPC listeners are PLAINTEXT: fine for learning on loopback, never for a network; run `bazaar up --tls` for TLS 1.3 and mTLS")
		return t, nil
	}
	pki, err := tlsx.GenerateDevPKI(tlsx.CertsDir(cfg.DataDir), serviceNames())
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	t.layout = pki.Layout
	return t, nil
}

// reloader returns the certificate source of service, made on first use.
func (t *transport) reloader(service string) (*tlsx.Reloader, error) {
	if r, ok := t.certs[service]; ok {
		return r, nil
	}
	r, err := tlsx.NewReloader(t.layout.CertFile(service), t.layout.KeyFile(service), t.layout.CACertFile(),
		tlsx.WithLogger(t.log.With("service", service)))
	if err != nil {
		return nil, fmt.Errorf("tls %s: %w", service, err)
	}
	t.certs[service] = r
	return r, nil
}

// serverOption returns the grpcx option that secures service's listener.
func (t *transport) serverOption(service string) (grpcx.ServerOption, error) {
	if !t.tls {
		return grpcx.WithServerOptions(), nil
	}
	r, err := t.reloader(service)
	if err != nil {
		return nil, err
	}
	return grpcx.WithServerOptions(grpc.Creds(tlsx.ServerCredentials(r, t.mode))), nil
}

// clientCredentials returns the credentials service uses to call target:
// mTLS with service's own certificate, or plaintext.
func (t *transport) clientCredentials(service, target string) (credentials.TransportCredentials, error) {
	if !t.tls {
		return insecure.NewCredentials(), nil
	}
	r, err := t.reloader(service)
	if err != nil {
		return nil, err
	}
	return tlsx.ClientCredentials(r, target), nil
}

// String describes the transport for the start-up table.
func (t *transport) String() string {
	if !t.tls {
		return "PLAINTEXT (local learning only; --tls for TLS 1.3)"
	}
	return fmt.Sprintf("TLS 1.3, client certificates %s, certificates in %s", t.mode, t.layout.Dir)
}

// grpcurlFlags are the grpcurl flags that reach a listener.
func (t *transport) grpcurlFlags() string {
	if !t.tls {
		return "-plaintext"
	}
	return fmt.Sprintf("-cacert %s -cert %s -key %s", t.layout.CACertFile(), t.layout.CertFile(tlsx.ClientName), t.layout.KeyFile(tlsx.ClientName))
}
