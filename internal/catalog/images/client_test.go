package images_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
	"github.com/bazaarhq/bazaar/internal/catalog/images"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

func randomPNG(t *testing.T, size int) []byte {
	t.Helper()
	data := make([]byte, size)
	_, _ = rand.Read(data)
	copy(data, "\x89PNG\r\n\x1a\n")
	return data
}

// TestClientRoundTrip: Upload then Download gives back the same bytes, in
// several chunks and in less than one.
func TestClientRoundTrip(t *testing.T) {
	t.Parallel()
	env := startEnv(t, nil)
	for _, size := range []int{100, 3*images.ChunkSize + 17} {
		data := randomPNG(t, size)
		img, err := images.Upload(t.Context(), env.client, knownProduct, bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("Upload(%d bytes) = %v", size, err)
		}
		if img.GetSizeBytes() != int64(size) || img.GetContentType() != "image/png" {
			t.Errorf("Upload() = %v, want %d bytes of image/png", img, size)
		}
		var got bytes.Buffer
		ctype, sum, err := images.Download(t.Context(), env.client, knownProduct, img.GetId(), &got)
		if err != nil {
			t.Fatalf("Download() = %v", err)
		}
		if !bytes.Equal(got.Bytes(), data) || ctype != "image/png" || sum != img.GetSha256() {
			t.Errorf("Download() = %d bytes, %q, %q; want the %d uploaded, image/png, %q", got.Len(), ctype, sum, size, img.GetSha256())
		}
	}
}

// TestClientUploadRefused: a server that answers mid-stream (the image is
// over its cap) gives Upload the server's status, not a send error.
func TestClientUploadRefused(t *testing.T) {
	t.Parallel()
	env := startEnv(t, []images.Option{images.WithMaxImageSize(images.ChunkSize)})
	data := randomPNG(t, 20*images.ChunkSize)
	_, err := images.Upload(t.Context(), env.client, knownProduct, bytes.NewReader(data), int64(len(data)))
	if d := errs.FromError(err); d.Code != codes.ResourceExhausted {
		t.Errorf("Upload(over the cap) = %v, want RESOURCE_EXHAUSTED", err)
	}
	_, _, err = images.Download(t.Context(), env.client, knownProduct, "missing", &bytes.Buffer{})
	if d := errs.FromError(err); d.Code != codes.NotFound {
		t.Errorf("Download(missing) = %v, want NOT_FOUND", err)
	}
}

// lyingServer announces a checksum its bytes do not have.
type lyingServer struct {
	catalogv1.UnimplementedCatalogServiceServer
}

func (lyingServer) DownloadProductImage(_ *catalogv1.DownloadProductImageRequest, stream grpc.ServerStreamingServer[catalogv1.DownloadProductImageResponse]) error {
	if err := stream.SendHeader(metadata.Pairs(images.HeaderSHA256, "00", images.HeaderContentType, "image/png")); err != nil {
		return err
	}
	return stream.Send(&catalogv1.DownloadProductImageResponse{Chunk: []byte("corrupted")})
}

func TestClientDownloadDetectsCorruption(t *testing.T) {
	t.Parallel()
	srv, err := grpcx.NewServer(grpcx.WithName("liar"), grpcx.WithAuthorizer(testAdminAuthorizer{}))
	if err != nil {
		t.Fatal(err)
	}
	catalogv1.RegisterCatalogServiceServer(srv, lyingServer{})
	client := catalogv1.NewCatalogServiceClient(serveBufconn(t, srv.Serve))
	_, _, err = images.Download(t.Context(), client, "p", "i", &bytes.Buffer{})
	if !errors.Is(err, images.ErrChecksumMismatch) {
		t.Errorf("Download(corrupted) = %v, want ErrChecksumMismatch", err)
	}
}
