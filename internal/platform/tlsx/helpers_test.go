package tlsx_test

import (
	"context"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	hellov1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
	"github.com/bazaarhq/bazaar/internal/platform/tlsx"
)

// callTimeout bounds every test call; the suite's handshakes take
// milliseconds.
const callTimeout = 5 * time.Second

// anonymous is what greeter answers to a caller without a client
// certificate.
const anonymous = "anonymous"

// greeter answers SayHello with how the caller authenticated: its client
// certificate's SPIFFE ID and serial number (describeCert), or anonymous.
type greeter struct {
	hellov1.UnimplementedGreeterServiceServer
}

func (greeter) SayHello(ctx context.Context, _ *hellov1.SayHelloRequest) (*hellov1.SayHelloResponse, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Internal, "no peer")
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return nil, status.Errorf(codes.Internal, "auth info %T, want credentials.TLSInfo", p.AuthInfo)
	}
	// Only verified chains prove an identity; PeerCertificates alone could
	// be anything the client sent.
	if len(info.State.VerifiedChains) == 0 {
		return &hellov1.SayHelloResponse{Message: anonymous}, nil
	}
	return &hellov1.SayHelloResponse{Message: describeCert(info.State.VerifiedChains[0][0])}, nil
}

// describeCert is "<SPIFFE ID> <serial in hex>".
func describeCert(c *x509.Certificate) string {
	id := "no-uri"
	if len(c.URIs) == 1 {
		id = c.URIs[0].String()
	}
	return id + " " + c.SerialNumber.Text(16)
}

// generate creates a PKI for services in a new temporary directory.
func generate(t *testing.T, services []string, opts ...tlsx.GenerateOption) *tlsx.PKI {
	t.Helper()
	return generateIn(t, t.TempDir(), services, opts...)
}

func generateIn(t *testing.T, dir string, services []string, opts ...tlsx.GenerateOption) *tlsx.PKI {
	t.Helper()
	pki, err := tlsx.GenerateDevPKI(dir, services, opts...)
	if err != nil {
		t.Fatalf("GenerateDevPKI(%q, %q) = %v", dir, services, err)
	}
	return pki
}

// service returns the key pair of name in pki.
func service(t *testing.T, pki *tlsx.PKI, name string) tlsx.KeyPair {
	t.Helper()
	for _, s := range pki.Services {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("PKI has no service %q", name)
	return tlsx.KeyPair{}
}

// reloader serves name's certificate of pki, trusting caFile (pki's CA
// when empty), and checks the files at every handshake.
func reloader(t *testing.T, pki *tlsx.PKI, name, caFile string) *tlsx.Reloader {
	t.Helper()
	l := pki.Layout
	if caFile == "" {
		caFile = l.CACertFile()
	}
	r, err := tlsx.NewReloader(l.CertFile(name), l.KeyFile(name), caFile, tlsx.WithCheckInterval(0))
	if err != nil {
		t.Fatalf("NewReloader(%q) = %v", name, err)
	}
	return r
}

// bundle writes the concatenation of files to a new file (atomically, as
// a rotation must) and returns its name.
func bundle(t *testing.T, name string, files ...string) string {
	t.Helper()
	var data []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, b...)
	}
	writeAtomic(t, name, data)
	return name
}

// writeAtomic replaces name with data through a rename, like GenerateDevPKI.
func writeAtomic(t *testing.T, name string, data []byte) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(name), "."+filepath.Base(name)+".tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, name); err != nil {
		t.Fatal(err)
	}
}

// startServer serves greeter over creds on a loopback port until the test
// ends and returns its address.
func startServer(t *testing.T, creds credentials.TransportCredentials) string {
	t.Helper()
	srv, err := grpcx.NewServer(grpcx.WithServerOptions(grpc.Creds(creds)), grpcx.WithShutdownGrace(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	hellov1.RegisterGreeterServiceServer(srv, greeter{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Not t.Context(): that ends before cleanups run, and the server must
	// outlive the clients, which cleanups close.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve() = %v, want nil", err)
		}
	})
	return lis.Addr().String()
}

// dial returns a client of addr over creds, closed when the test ends.
// Retries are off, so each failed handshake shows as a failed call instead
// of being retried away.
func dial(t *testing.T, addr string, creds credentials.TransportCredentials) hellov1.GreeterServiceClient {
	t.Helper()
	cc, err := newConn(addr, creds)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return hellov1.NewGreeterServiceClient(cc)
}

func newConn(addr string, creds credentials.TransportCredentials) (*grpc.ClientConn, error) {
	return grpcx.NewClient(addr,
		grpcx.WithTransportCredentials(creds),
		grpcx.WithRetryPolicy(grpcx.RetryPolicy{MaxAttempts: 1}),
		grpcx.WithDefaultTimeout(callTimeout),
	)
}

// hello calls SayHello and returns the answer and the connection's TLS
// state as the client saw it.
func hello(ctx context.Context, c hellov1.GreeterServiceClient) (string, credentials.TLSInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var p peer.Peer
	resp, err := c.SayHello(ctx, &hellov1.SayHelloRequest{Name: "tlsx"}, grpc.Peer(&p))
	if err != nil {
		return "", credentials.TLSInfo{}, err
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.PeerCertificates) == 0 {
		return resp.GetMessage(), info, status.Errorf(codes.Internal, "peer auth info %#v has no server certificate", p.AuthInfo)
	}
	return resp.GetMessage(), info, nil
}

// wantOK makes a call that must succeed and authenticate the caller as
// want (describeCert of its certificate, or anonymous).
func wantOK(t *testing.T, c hellov1.GreeterServiceClient, want string) {
	t.Helper()
	got, _, err := hello(t.Context(), c)
	if err != nil || got != want {
		t.Errorf("SayHello() = %q, %v; want %q, nil", got, err, want)
	}
}

// wantRefused makes a call that must fail in the handshake: UNAVAILABLE,
// with detail (a TLS alert or verification error) in the message.
func wantRefused(t *testing.T, c hellov1.GreeterServiceClient, detail string) {
	t.Helper()
	got, _, err := hello(t.Context(), c)
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), detail) {
		t.Errorf("SayHello() = %q, %v; want code Unavailable with %q", got, err, detail)
	}
}
