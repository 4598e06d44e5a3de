package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
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
	admin := bearer(t.Context(), login.GetTokens().GetAccessToken())

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

	// Upload an image in 64 KiB chunks, then download it back.
	pic := testPNG(t)
	sum := sha256.Sum256(pic)
	up, err := cat.UploadProductImage(admin)
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Send(&catalogv1.UploadProductImageRequest{Part: &catalogv1.UploadProductImageRequest_Metadata{Metadata: &catalogv1.ImageMetadata{
		ProductId: pid, ContentType: "image/png", SizeBytes: int64(len(pic)), Sha256: hex.EncodeToString(sum[:]),
	}}}); err != nil {
		t.Fatal(err)
	}
	for rest := pic; len(rest) > 0; {
		n := min(len(rest), 64<<10)
		if err := up.Send(&catalogv1.UploadProductImageRequest{Part: &catalogv1.UploadProductImageRequest_Chunk{Chunk: rest[:n]}}); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	stored, err := up.CloseAndRecv()
	if err != nil {
		t.Fatalf("UploadProductImage() = %v", err)
	}
	var header metadata.MD
	down, err := cat.DownloadProductImage(t.Context(), &catalogv1.DownloadProductImageRequest{ProductId: pid, ImageId: stored.GetImage().GetId()}, grpc.Header(&header))
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	for {
		msg, err := down.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("DownloadProductImage().Recv() = %v", err)
		}
		got.Write(msg.GetChunk())
	}
	if !bytes.Equal(got.Bytes(), pic) {
		t.Errorf("downloaded %d bytes, not the %d uploaded", got.Len(), len(pic))
	}
	if h := header.Get("x-content-sha256"); len(h) != 1 || h[0] != hex.EncodeToString(sum[:]) {
		t.Errorf("x-content-sha256 header = %q, want the image's checksum", h)
	}
	if err := stop(); err != nil {
		t.Errorf("run(up) after cancel = %v, want nil", err)
	}
}

// TestSeed: `bazaar seed` loads the sample catalog, a second run adds
// nothing, and `bazaar up` on the same data dir serves it.
func TestSeed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
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

func runCmd(t *testing.T, args []string, out io.Writer) error {
	t.Helper()
	return run(t.Context(), args, noEnv, out)
}
