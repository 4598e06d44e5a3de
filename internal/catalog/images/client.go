package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
)

// The client side of the image streams, for `bazaar catalog` and the demo.

// Upload streams the image in r (size bytes, read twice: once to hash it,
// once to send it, so r must be seekable, as a file is) to product
// productID in ChunkSize chunks. The declared content type is sniffed from
// the first bytes, as the server will. It returns the stored image.
func Upload(ctx context.Context, client catalogv1.CatalogServiceClient, productID string, r io.ReadSeeker, size int64, opts ...grpc.CallOption) (*catalogv1.ImageRef, error) {
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	h := sha256.New()
	h.Write(head[:n])
	if _, err := io.Copy(h, r); err != nil {
		return nil, err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}

	// Cancelling the context ends the stream if this returns early: the
	// server then discards whatever it received.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.UploadProductImage(ctx, opts...)
	if err != nil {
		return nil, err
	}
	md := &catalogv1.ImageMetadata{
		ProductId: productID, ContentType: http.DetectContentType(head[:n]),
		SizeBytes: size, Sha256: hex.EncodeToString(h.Sum(nil)),
	}
	send := func(m *catalogv1.UploadProductImageRequest) (answered bool, err error) {
		err = stream.Send(m)
		if errors.Is(err, io.EOF) {
			return true, nil // the server answered early: CloseAndRecv has its status
		}
		return false, err
	}
	answered, err := send(&catalogv1.UploadProductImageRequest{Part: &catalogv1.UploadProductImageRequest_Metadata{Metadata: md}})
	buf := make([]byte, ChunkSize)
	for err == nil && !answered {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			// Send keeps the message until written: a chunk of its own.
			chunk := append([]byte(nil), buf[:n]...)
			answered, err = send(&catalogv1.UploadProductImageRequest{Part: &catalogv1.UploadProductImageRequest_Chunk{Chunk: chunk}})
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return nil, rerr
		}
	}
	if err != nil {
		return nil, err
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, err
	}
	return resp.GetImage(), nil
}

// ErrChecksumMismatch is returned by Download when the bytes received do
// not hash to the checksum the server announced.
var ErrChecksumMismatch = errors.New("images: downloaded bytes do not match the announced SHA-256")

// Download streams image imageID of product productID into w and checks
// the bytes against the SHA-256 announced in the response header. It
// returns the image's media type and checksum. On ErrChecksumMismatch w
// has received bytes that must be discarded.
func Download(ctx context.Context, client catalogv1.CatalogServiceClient, productID, imageID string, w io.Writer, opts ...grpc.CallOption) (contentType, sum string, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.DownloadProductImage(ctx, &catalogv1.DownloadProductImageRequest{ProductId: productID, ImageId: imageID}, opts...)
	if err != nil {
		return "", "", err
	}
	// A call that fails before any header has an empty header and no
	// error here; its first Recv returns the status.
	header, err := stream.Header()
	if err != nil {
		return "", "", err
	}
	want := first(header, HeaderSHA256)
	h := sha256.New()
	out := io.MultiWriter(w, h)
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", "", err
		}
		if _, err := out.Write(msg.GetChunk()); err != nil {
			return "", "", err
		}
	}
	got := hex.EncodeToString(h.Sum(nil))
	if got != want {
		return "", "", fmt.Errorf("%w: got %s, announced %q", ErrChecksumMismatch, got, want)
	}
	return first(header, HeaderContentType), got, nil
}

func first(md metadata.MD, key string) string {
	if v := md.Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}
