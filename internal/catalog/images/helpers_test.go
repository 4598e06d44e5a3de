package images_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
	"github.com/bazaarhq/bazaar/internal/catalog/images"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// testTimeout bounds every call of a test, so a hang fails fast.
const testTimeout = 10 * time.Second

// knownProduct is the one product the fake catalog holds.
const knownProduct = "p-1"

// testAdminAuthorizer is test support: an auth.Authorizer that admits
// every caller as an administrator, so the tests exercise the real grpcx
// chain (validation, error mapping) without minting tokens.
type testAdminAuthorizer struct{}

func (testAdminAuthorizer) Authorize(ctx context.Context, _ string, _ *auth.Policy) (context.Context, error) {
	return auth.WithPrincipal(ctx, &auth.Principal{Kind: auth.User, Subject: "test-admin", Roles: []string{"admin"}}), nil
}

// fakeProducts is the in-memory images.Products of the tests: a fixed set
// of products and the images added to them.
type fakeProducts struct {
	mu     sync.Mutex
	images map[string][]images.Image // by product id; a key exists for each product
}

func newFakeProducts(productIDs ...string) *fakeProducts {
	p := &fakeProducts{images: make(map[string][]images.Image)}
	for _, id := range productIDs {
		p.images[id] = nil
	}
	return p
}

func (p *fakeProducts) AddImage(ctx context.Context, productID string, img images.Image) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	imgs, ok := p.images[productID]
	if !ok {
		return errs.ResourceNotFound("product", productID)
	}
	p.images[productID] = append(imgs, img)
	return nil
}

func (p *fakeProducts) Image(_ context.Context, productID, imageID string) (images.Image, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := slices.IndexFunc(p.images[productID], func(img images.Image) bool { return img.ID == imageID })
	if i < 0 {
		return images.Image{}, errs.ResourceNotFound("image", productID+"/"+imageID)
	}
	return p.images[productID][i], nil
}

func (p *fakeProducts) ImageIDs(context.Context) (map[string]struct{}, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := map[string]struct{}{}
	for _, imgs := range p.images {
		for _, img := range imgs {
			ids[img.ID] = struct{}{}
		}
	}
	return ids, nil
}

// count returns how many images all products have.
func (p *fakeProducts) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, imgs := range p.images {
		n += len(imgs)
	}
	return n
}

// testCatalogServer is the catalog's gRPC server as far as images go: it
// delegates the two image RPCs to images.Service, as the real one does.
type testCatalogServer struct {
	catalogv1.UnimplementedCatalogServiceServer
	images *images.Service
}

func (s *testCatalogServer) UploadProductImage(stream grpc.ClientStreamingServer[catalogv1.UploadProductImageRequest, catalogv1.UploadProductImageResponse]) error {
	return s.images.Upload(stream)
}

func (s *testCatalogServer) DownloadProductImage(req *catalogv1.DownloadProductImageRequest, stream grpc.ServerStreamingServer[catalogv1.DownloadProductImageResponse]) error {
	return s.images.Download(req, stream)
}

// testEnv is a running catalog image server and what the tests inspect.
type testEnv struct {
	client   catalogv1.CatalogServiceClient
	blobDir  string
	blobs    *images.BlobStore
	products *fakeProducts
}

// startEnv serves an images.Service on a real grpcx.Server over bufconn
// and returns a client of it. The server stops, and must stop cleanly,
// when the test ends.
func startEnv(tb testing.TB, opts []images.Option, dialOpts ...grpc.DialOption) *testEnv {
	tb.Helper()
	dir := tb.TempDir()
	blobs, err := images.NewBlobStore(dir)
	if err != nil {
		tb.Fatalf("images.NewBlobStore(%q) = %v", dir, err)
	}
	products := newFakeProducts(knownProduct)
	srv, err := grpcx.NewServer(grpcx.WithName("images-test"), grpcx.WithAuthorizer(testAdminAuthorizer{}))
	if err != nil {
		tb.Fatalf("grpcx.NewServer() = %v", err)
	}
	catalogv1.RegisterCatalogServiceServer(srv, &testCatalogServer{images: images.NewService(products, blobs, opts...)})
	cc := serveBufconn(tb, func(ctx context.Context, lis net.Listener) error { return srv.Serve(ctx, lis) }, dialOpts...)
	return &testEnv{client: catalogv1.NewCatalogServiceClient(cc), blobDir: dir, blobs: blobs, products: products}
}

// serveBufconn runs serve on a bufconn listener until the test ends and
// returns a client connection to it.
func serveBufconn(tb testing.TB, serve func(context.Context, net.Listener) error, dialOpts ...grpc.DialOption) *grpc.ClientConn {
	tb.Helper()
	lis := bufconn.Listen(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, lis) }()
	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
	}, dialOpts...)
	cc, err := grpc.NewClient("passthrough:///bufconn", opts...)
	if err != nil {
		cancel()
		<-done
		tb.Fatalf("grpc.NewClient() = %v", err)
	}
	tb.Cleanup(func() {
		if err := cc.Close(); err != nil {
			tb.Errorf("ClientConn.Close() = %v", err)
		}
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Serve() = %v, want nil", err)
		}
	})
	return cc
}

// callContext is the context of one test call: the test's, with a deadline.
func callContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// noisePNG encodes a w×h PNG of seeded random pixels: noise does not
// compress, so the file is about 4·w·h bytes.
func noisePNG(tb testing.TB, w, h int, seed uint64) []byte {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, seed))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(rng.Uint32())
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		tb.Fatalf("png.Encode() = %v", err)
	}
	return buf.Bytes()
}

// tinyPNG is a 1×1 PNG, far smaller than the 512 bytes sniffing reads.
func tinyPNG(tb testing.TB) []byte {
	tb.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	img.Set(0, 0, color.NRGBA{R: 200, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatalf("png.Encode() = %v", err)
	}
	return buf.Bytes()
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// metadataFor is the honest metadata of data for product productID.
func metadataFor(productID string, data []byte) *catalogv1.ImageMetadata {
	return &catalogv1.ImageMetadata{
		ProductId:   productID,
		ContentType: "image/png",
		SizeBytes:   int64(len(data)),
		Sha256:      sha256Hex(data),
	}
}

func metadataMsg(md *catalogv1.ImageMetadata) *catalogv1.UploadProductImageRequest {
	return &catalogv1.UploadProductImageRequest{Part: &catalogv1.UploadProductImageRequest_Metadata{Metadata: md}}
}

func chunkMsg(b []byte) *catalogv1.UploadProductImageRequest {
	return &catalogv1.UploadProductImageRequest{Part: &catalogv1.UploadProductImageRequest_Chunk{Chunk: b}}
}

// chunkMsgs splits data into chunk messages of at most size bytes.
func chunkMsgs(data []byte, size int) []*catalogv1.UploadProductImageRequest {
	var msgs []*catalogv1.UploadProductImageRequest
	for c := range slices.Chunk(data, size) {
		msgs = append(msgs, chunkMsg(c))
	}
	return msgs
}

// uploadMsgs sends msgs on a new upload stream, closes it and returns the
// answer. A Send that fails with io.EOF means the server has already
// answered; CloseAndRecv then returns its error.
func uploadMsgs(ctx context.Context, client catalogv1.CatalogServiceClient, msgs []*catalogv1.UploadProductImageRequest) (*catalogv1.UploadProductImageResponse, error) {
	stream, err := client.UploadProductImage(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		if err := stream.Send(m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, err
		}
	}
	return stream.CloseAndRecv()
}

// upload sends data as one image of product productID, in 64 KiB chunks.
func upload(ctx context.Context, client catalogv1.CatalogServiceClient, productID string, data []byte) (*catalogv1.UploadProductImageResponse, error) {
	msgs := append([]*catalogv1.UploadProductImageRequest{metadataMsg(metadataFor(productID, data))}, chunkMsgs(data, images.ChunkSize)...)
	return uploadMsgs(ctx, client, msgs)
}

// download reads a whole image and the response header's checksum and
// type.
func download(ctx context.Context, client catalogv1.CatalogServiceClient, productID, imageID string) (data []byte, sum, contentType string, err error) {
	stream, err := client.DownloadProductImage(ctx, &catalogv1.DownloadProductImageRequest{ProductId: productID, ImageId: imageID})
	if err != nil {
		return nil, "", "", err
	}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", "", err
		}
		data = append(data, resp.GetChunk()...)
	}
	hdr, err := stream.Header()
	if err != nil {
		return nil, "", "", err
	}
	return data, first(hdr.Get(images.HeaderSHA256)), first(hdr.Get(images.HeaderContentType)), nil
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// regularFiles lists the regular files under dir, relative to it.
func regularFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, path)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("filepath.WalkDir(%q) = %v", dir, err)
	}
	return files
}

// waitForFiles polls dir until cond holds of its regular files, failing
// the test if it does not within testTimeout. Handlers finish after the
// client has its answer (and, after a cancel, the client learns nothing),
// so a check of the directory must wait for them.
func waitForFiles(t *testing.T, dir, what string, cond func([]string) bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		files := regularFiles(t, dir)
		if cond(files) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("blob directory never %s: files %q", what, files)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wantError is the error a call should fail with: its code, its ErrorInfo
// reason and, when field is set, a BadRequest violation on field.
type wantError struct {
	code   codes.Code
	reason string
	field  string
}

// checkError fails the test unless err matches want. call names the call.
func checkError(t *testing.T, call string, err error, want wantError) {
	t.Helper()
	if err == nil {
		t.Errorf("%s = nil error, want code %v", call, want.code)
		return
	}
	d := errs.FromError(err)
	if d.Code != want.code {
		t.Errorf("%s = %v, want code %v", call, err, want.code)
	}
	if want.reason != "" && d.Reason != want.reason {
		t.Errorf("%s: ErrorInfo reason = %q, want %q (error %v)", call, d.Reason, want.reason, err)
	}
	if want.field != "" && !slices.ContainsFunc(d.FieldViolations, func(v errs.FieldViolation) bool {
		return v.Field == want.field && v.Description != ""
	}) {
		t.Errorf("%s: field violations = %+v, want one on %q", call, d.FieldViolations, want.field)
	}
}
