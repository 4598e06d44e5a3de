package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
	identityv1 "github.com/bazaarhq/bazaar/gen/bazaar/identity/v1"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// testPNG is a real PNG of a few chunks' size.
func testPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 300, 300))
	for x := range 300 {
		for y := range 300 {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestUpCatalog: with `bazaar up`, an admin creates a product and uploads
// an image that downloads back byte-identical; a customer cannot create
// products nor reserve stock (only the order service may).
func TestUpCatalog(t *testing.T) {
	t.Parallel()
	const adminPassword = "admin password 4 tests"
	addrs, stop := startUp(t, "--admin-password", adminPassword)
	id := identityv1.NewIdentityServiceClient(dial(t, addrs["identity"]))
	cat := catalogv1.NewCatalogServiceClient(dial(t, addrs["catalog"]))

	customer := signUp(t, id, "bob@example.com")
	login, err := id.Login(t.Context(), &identityv1.LoginRequest{Email: "admin@bazaar.local", Password: adminPassword})
	if err != nil {
		t.Fatal(err)
	}
	adminToken := login.GetTokens().GetAccessToken()
	admin := bearer(t.Context(), adminToken)

	product := &catalogv1.Product{
		Sku: "KNIFE-1", Title: "Chef knife", Category: "kitchen/knives",
		Price:  &money.Money{CurrencyCode: "EUR", Units: 89, Nanos: 500_000_000},
		Status: catalogv1.ProductStatus_PRODUCT_STATUS_ACTIVE,
	}
	_, err = cat.CreateProduct(bearer(t.Context(), customer), &catalogv1.CreateProductRequest{Product: product, RequestId: uuid.NewString()})
	if errs.FromError(err).Code != codes.PermissionDenied {
		t.Errorf("CreateProduct(customer) = %v, want PermissionDenied", err)
	}
	created, err := cat.CreateProduct(admin, &catalogv1.CreateProductRequest{Product: product, RequestId: uuid.NewString()})
	if err != nil {
		t.Fatalf("CreateProduct(admin) = %v", err)
	}
	pid := created.GetProduct().GetId()
	_, err = cat.ReserveStock(bearer(t.Context(), customer), &catalogv1.ReserveStockRequest{
		ReservationId: "r1", Items: []*catalogv1.ReservationItem{{Sku: "KNIFE-1", Quantity: 1}},
	})
	if errs.FromError(err).Code != codes.PermissionDenied {
		t.Errorf("ReserveStock(customer) = %v, want PermissionDenied", err)
	}

	// A watcher sees a price change live.
	watch, err := cat.WatchCatalog(t.Context(), &catalogv1.WatchCatalogRequest{Skus: []string{"KNIFE-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := watch.Header(); err != nil { // the subscription is set up once headers arrive
		t.Fatal(err)
	}
	change := created.GetProduct()
	change.Price = &money.Money{CurrencyCode: "EUR", Units: 79}
	if _, err := cat.UpdateProduct(admin, &catalogv1.UpdateProductRequest{
		Product: change, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"price"}},
	}); err != nil {
		t.Fatalf("UpdateProduct(price) = %v", err)
	}
	seen, err := watch.Recv()
	if err != nil || seen.GetChange().GetPrice().GetUnits() != 79 || seen.GetCursor() == "" {
		t.Errorf("WatchCatalog().Recv() = %v, %v, want the new price EUR 79 with a cursor", seen, err)
	}

	// `bazaar catalog upload-image` streams a file in 64 KiB chunks;
	// download-image streams it back, verified against its checksum.
	dir := t.TempDir()
	pic := testPNG(t)
	sum := sha256.Sum256(pic)
	file := filepath.Join(dir, "knife.png")
	if err := os.WriteFile(file, pic, 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = runCmd(t, []string{"catalog", "upload-image", "--addr", addrs["catalog"], pid, file}, &out)
	if errs.FromError(err).Code != codes.Unauthenticated || !strings.Contains(err.Error(), "reason: CREDENTIALS_REQUIRED") {
		t.Errorf("catalog upload-image without a token = %v, want Unauthenticated with its reason", err)
	}
	if err := runCmd(t, []string{"catalog", "upload-image", "--addr", addrs["catalog"], "--token", adminToken, pid, file}, &out); err != nil {
		t.Fatalf("catalog upload-image = %v\n%s", err, out.String())
	}
	m := regexp.MustCompile(`image (\S+), image/png, (\d+) bytes, sha256 ([0-9a-f]{64})`).FindStringSubmatch(out.String())
	if m == nil || m[2] != strconv.Itoa(len(pic)) || m[3] != hex.EncodeToString(sum[:]) {
		t.Fatalf("catalog upload-image printed %q, want the image id, size %d and checksum", out.String(), len(pic))
	}
	back := filepath.Join(dir, "back.png")
	if err := runCmd(t, []string{"catalog", "download-image", "--addr", addrs["catalog"], pid, m[1], back}, &out); err != nil {
		t.Fatalf("catalog download-image = %v\n%s", err, out.String())
	}
	if got, err := os.ReadFile(back); err != nil || !bytes.Equal(got, pic) {
		t.Errorf("downloaded file: %d bytes, %v; want the %d uploaded", len(got), err, len(pic))
	}
	err = runCmd(t, []string{"catalog", "download-image", "--addr", addrs["catalog"], pid, "no-such-image", filepath.Join(dir, "x.png")}, &out)
	if errs.FromError(err).Code != codes.NotFound {
		t.Errorf("catalog download-image of a missing image = %v, want NotFound", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".download-*")); len(left) != 0 || fileExists(filepath.Join(dir, "x.png")) {
		t.Errorf("a failed download left files behind: %v", left)
	}
	if err := stop(); err != nil {
		t.Errorf("run(up) after cancel = %v, want nil", err)
	}
}

// TestSeed: `bazaar seed` loads the sample catalog, a second run adds
// nothing, and `bazaar up` on the same data dir serves it.
func TestSeed(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "not-yet") // seed makes it, as up does
	for run := range 2 {
		var out bytes.Buffer
		if err := runCmd(t, []string{"seed", "--data-dir", dir, "--products", "60"}, &out); err != nil {
			t.Fatalf("run(seed) #%d = %v\n%s", run+1, err, out.String())
		}
		want := "60 products"
		if !bytes.Contains(out.Bytes(), []byte(want)) {
			t.Errorf("run(seed) #%d printed %q, want %q", run+1, out.String(), want)
		}
		if run == 1 && !bytes.Contains(out.Bytes(), []byte("0 images added")) {
			t.Errorf("second run(seed) printed %q, want no new images", out.String())
		}
	}
	addrs, stop := startUpIn(t, dir)
	cat := catalogv1.NewCatalogServiceClient(dial(t, addrs["catalog"]))
	list, err := cat.ListProducts(t.Context(), &catalogv1.ListProductsRequest{PageSize: 200})
	if err != nil || len(list.GetProducts()) != 60 {
		t.Errorf("ListProducts() after seeding 60 = %d products, %v", len(list.GetProducts()), err)
	}
	if err := stop(); err != nil {
		t.Error(err)
	}
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

func runCmd(t *testing.T, args []string, out io.Writer) error {
	t.Helper()
	return run(t.Context(), args, noEnv, out)
}
