package tlsx_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	hellov1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
	"github.com/bazaarhq/bazaar/internal/platform/tlsx"
)

func ExampleGenerateDevPKI() {
	dataDir, err := os.MkdirTemp("", "bazaar")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dataDir)

	pki, err := tlsx.GenerateDevPKI(tlsx.CertsDir(dataDir), []string{"catalog", "order"})
	if err != nil {
		log.Fatal(err)
	}
	for _, kp := range append(append([]tlsx.KeyPair{pki.CA}, pki.Services...), pki.Client) {
		fmt.Printf("%-12s %-16s %v\n", filepath.Base(kp.CertFile), filepath.Base(kp.KeyFile), kp.Cert.URIs)
	}

	// Running it again keeps everything that is still valid.
	again, err := tlsx.GenerateDevPKI(tlsx.CertsDir(dataDir), []string{"catalog", "order"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("CA kept:", again.CA.Reused)
	// Output:
	// ca.pem       ca-key.pem       []
	// catalog.pem  catalog-key.pem  [spiffe://bazaar.dev/catalog]
	// order.pem    order-key.pem    [spiffe://bazaar.dev/order]
	// client.pem   client-key.pem   [spiffe://bazaar.dev/user/cli]
	// CA kept: true
}

// whoami greets its caller by the identity in the caller's verified
// certificate.
type whoami struct {
	hellov1.UnimplementedGreeterServiceServer
}

func (whoami) SayHello(ctx context.Context, _ *hellov1.SayHelloRequest) (*hellov1.SayHelloResponse, error) {
	var info credentials.TLSInfo
	if p, ok := peer.FromContext(ctx); ok {
		info, _ = p.AuthInfo.(credentials.TLSInfo)
	}
	if len(info.State.VerifiedChains) == 0 {
		return nil, status.Error(codes.Unauthenticated, "no verified client certificate")
	}
	return &hellov1.SayHelloResponse{Message: "catalog saw " + info.State.VerifiedChains[0][0].URIs[0].String()}, nil
}

// The order service calls the catalog over mutual TLS: each presents its
// own certificate and verifies the other's against the CA.
func Example_mutualTLS() {
	dir, err := os.MkdirTemp("", "bazaar-certs")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	pki, err := tlsx.GenerateDevPKI(dir, []string{"catalog", "order"})
	if err != nil {
		log.Fatal(err)
	}
	l := pki.Layout

	// The catalog serves, and only to callers with a certificate.
	catalogFiles, err := tlsx.NewReloader(l.CertFile("catalog"), l.KeyFile("catalog"), l.CACertFile())
	if err != nil {
		log.Fatal(err)
	}
	srv, err := grpcx.NewServer(grpcx.WithServerOptions(
		grpc.Creds(tlsx.ServerCredentials(catalogFiles, tlsx.ClientCertRequired))))
	if err != nil {
		log.Fatal(err)
	}
	hellov1.RegisterGreeterServiceServer(srv, whoami{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, lis) }()
	defer func() { stop(); <-served }()

	// The order service calls it, verifying that the server is "catalog".
	orderFiles, err := tlsx.NewReloader(l.CertFile("order"), l.KeyFile("order"), l.CACertFile())
	if err != nil {
		log.Fatal(err)
	}
	cc, err := grpcx.NewClient(lis.Addr().String(),
		grpcx.WithTransportCredentials(tlsx.ClientCredentials(orderFiles, "catalog")))
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Close()
	resp, err := hellov1.NewGreeterServiceClient(cc).SayHello(ctx, &hellov1.SayHelloRequest{Name: "order"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.GetMessage())
	// Output: catalog saw spiffe://bazaar.dev/order
}
