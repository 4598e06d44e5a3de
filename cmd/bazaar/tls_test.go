package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
	helloworldv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	identityv1 "github.com/bazaarhq/bazaar/gen/bazaar/identity/v1"
	orderv1 "github.com/bazaarhq/bazaar/gen/bazaar/order/v1"
	"github.com/bazaarhq/bazaar/internal/platform/tlsx"
)

func TestCerts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"certs", "--data-dir", dir}, noEnv, &out); err != nil {
		t.Fatalf("run(certs) = %v\n%s", err, out.String())
	}
	for _, name := range append(serviceNames(), "ca", "client") {
		if !strings.Contains(out.String(), filepath.Join(dir, "certs", name+".pem")) {
			t.Errorf("certs output lacks %s.pem:\n%s", name, out.String())
		}
	}
	if !strings.Contains(out.String(), "spiffe://bazaar.dev/helloworld") {
		t.Errorf("certs output lacks the SPIFFE identity:\n%s", out.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"certs", "--data-dir", dir}, noEnv, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "created") {
		t.Errorf("a second run re-created certificates:\n%s", out.String())
	}
}

// callHello says hello to addr with creds and returns the error.
func callHello(t *testing.T, addr string, creds credentials.TransportCredentials) error {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	_, err = helloworldv1.NewGreeterServiceClient(cc).SayHello(t.Context(), &helloworldv1.SayHelloRequest{Name: "tls"})
	return err
}

// foreignClientCreds presents certFile/keyFile (of another CA) while
// trusting caFile for the server: only the client certificate is wrong.
func foreignClientCreds(t *testing.T, certFile, keyFile, caFile string) credentials.TransportCredentials {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no CA certificate in " + caFile)
	}
	return credentials.NewTLS(&tls.Config{
		MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: "helloworld",
	})
}

// TestUpTLS: `bazaar up --tls` serves TLS 1.3; a plaintext client and a
// client certificate from another CA are refused; a client trusting the
// dev CA (with or without its client certificate) is served.
func TestUpTLS(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	addrs, stop := startUpIn(t, dataDir, "--tls", "--admin-password", "admin password 4 tests")
	addr := addrs["helloworld"]
	layout := tlsx.Layout{Dir: tlsx.CertsDir(dataDir)}

	if err := callHello(t, addr, insecure.NewCredentials()); status.Code(err) != codes.Unavailable {
		t.Errorf("plaintext SayHello against --tls = %v, want Unavailable", err)
	}

	// Another CA's certificate, otherwise a perfectly good client.
	other, err := tlsx.GenerateDevPKI(t.TempDir(), []string{"helloworld"})
	if err != nil {
		t.Fatal(err)
	}
	foreign := foreignClientCreds(t, other.Client.CertFile, other.Client.KeyFile, layout.CACertFile())
	if err := callHello(t, addr, foreign); status.Code(err) != codes.Unavailable {
		t.Errorf("SayHello with another CA's client certificate = %v, want Unavailable (handshake refused)", err)
	}

	// Our own client certificate works.
	mine, err := tlsx.NewReloader(layout.CertFile(tlsx.ClientName), layout.KeyFile(tlsx.ClientName), layout.CACertFile())
	if err != nil {
		t.Fatal(err)
	}
	if err := callHello(t, addr, tlsx.ClientCredentials(mine, "helloworld")); err != nil {
		t.Errorf("SayHello with the dev client certificate = %v, want OK", err)
	}

	// An API key on helloworld makes helloworld ask identity over mTLS.
	id := identityv1.NewIdentityServiceClient(withCreds(t, addrs["identity"], tlsx.ClientCredentials(mine, "identity")))
	token := signUp(t, id, "tls@example.com")
	key, err := id.CreateApiKey(bearer(t.Context(), token), &identityv1.CreateApiKeyRequest{Name: "tls"})
	if err != nil {
		t.Fatal(err)
	}
	hello := helloworldv1.NewGreeterServiceClient(withCreds(t, addr, tlsx.ClientCredentials(mine, "helloworld")))
	if _, err := hello.SayHello(apiKey(t.Context(), key.GetSecret()), &helloworldv1.SayHelloRequest{Name: "k"}); err != nil {
		t.Errorf("SayHello(API key) over TLS = %v, want OK (helloworld verifies the key with identity over mTLS)", err)
	}
	// A checkout: the order service reserves stock and takes payment as
	// itself, known by its certificate (no client credentials with TLS).
	login, err := id.Login(t.Context(), &identityv1.LoginRequest{Email: "admin@bazaar.local", Password: "admin password 4 tests"})
	if err != nil {
		t.Fatal(err)
	}
	admin := bearer(t.Context(), login.GetTokens().GetAccessToken())
	cat := catalogv1.NewCatalogServiceClient(withCreds(t, addrs["catalog"], tlsx.ClientCredentials(mine, "catalog")))
	p, err := cat.CreateProduct(admin, &catalogv1.CreateProductRequest{RequestId: "3b0f6b3c-2f4e-4f55-9a51-6f0e1c2d3a41", Product: &catalogv1.Product{
		Sku: "TLS-1", Title: "Padlock", Category: "hardware", Status: catalogv1.ProductStatus_PRODUCT_STATUS_ACTIVE,
		Price: &money.Money{CurrencyCode: "EUR", Units: 5},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cat.AdjustStock(admin, &catalogv1.AdjustStockRequest{Sku: "TLS-1", Delta: 1, Reason: "delivery", RequestId: "0c3e3c1e-8a55-4a62-9d6b-2b4f1e7a9c02"}); err != nil {
		t.Fatal(err)
	}
	orders := orderv1.NewOrderServiceClient(withCreds(t, addrs["order"], tlsx.ClientCredentials(mine, "order")))
	placed, err := orders.PlaceOrder(bearer(t.Context(), token), &orderv1.PlaceOrderRequest{
		IdempotencyKey: "tls-order", CardNumber: "4242424242424242",
		Source: &orderv1.PlaceOrderRequest_Items{Items: &orderv1.LineItems{Items: []*orderv1.LineItem{{ProductId: p.GetProduct().GetId(), Quantity: 1}}}},
	})
	if err != nil || placed.GetOrder().GetStatus() != orderv1.OrderStatus_ORDER_STATUS_COMPLETED {
		t.Errorf("PlaceOrder() over TLS = %v, %v; want COMPLETED", placed.GetOrder(), err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "secrets")); !os.IsNotExist(err) {
		t.Errorf("with TLS no service client secret should be made (stat secrets: %v)", err)
	}

	start := time.Now()
	if err := stop(); err != nil {
		t.Errorf("run(up --tls) after cancel = %v, want nil", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("shutdown took %v", time.Since(start))
	}
}
