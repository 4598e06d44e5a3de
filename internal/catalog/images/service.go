package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"strconv"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// The response header keys of DownloadProductImage. The image's media type
// cannot travel as "content-type": gRPC reserves that header for its own
// "application/grpc" and drops any value a handler sets.
const (
	HeaderSHA256      = "x-content-sha256"
	HeaderContentType = "x-content-type"
)

// ChunkSize is the size of the chunks DownloadProductImage sends: the
// largest the API allows.
const ChunkSize = 64 << 10

// sniffLen is how many bytes http.DetectContentType looks at.
const sniffLen = 512

// allowedTypes are the sniffed media types an image may have.
var allowedTypes = map[string]bool{
	"image/png":  true,
	"image/jpeg": true,
	"image/gif":  true,
	"image/webp": true,
}

// Service implements the image RPCs of the catalog. The catalog's gRPC
// server delegates UploadProductImage to Upload and DownloadProductImage to
// Download.
type Service struct {
	products Products
	blobs    *BlobStore
	maxSize  int64
}

// NewService returns a Service that keeps image bytes in blobs and records
// images in products.
func NewService(products Products, blobs *BlobStore, opts ...Option) *Service {
	s := &Service{products: products, blobs: blobs, maxSize: DefaultMaxImageSize}
	for _, o := range opts {
		o.apply(s)
	}
	return s
}

// Upload implements UploadProductImage: a metadata message, then chunks
// until the client closes its side.
//
// The bytes go to a pending blob as they arrive, hashed on the way, so
// memory is one chunk whatever the image's size. Upload stops reading at
// the first byte past the declared size (RESOURCE_EXHAUSTED
// ReasonImageTooLarge) and as soon as the first 512 bytes (or all of a
// smaller image) are not a PNG, JPEG, GIF or WebP image (INVALID_ARGUMENT
// ReasonNotAnImage). At the end the size must be the declared one
// (INVALID_ARGUMENT ReasonImageTruncated) and so must the SHA-256
// (DATA_LOSS ReasonChecksumMismatch). On these errors, on any other, and
// when the client goes away, the pending blob is removed: nothing is kept.
//
// Ordering: the blob is committed (synced and renamed into place) before
// Products.AddImage records it, and removed again if AddImage fails. So
// the catalog never names an image whose bytes are missing. The crash
// window is between the commit and AddImage: a process killed there leaves
// an orphan blob that no product names. It is invisible to clients and
// costs only disk space; a sweeper that deletes blobs no image refers to
// would reclaim it (not built: it needs the catalog's list of images). The
// opposite order would instead risk a product naming bytes that never
// arrived, which clients would see. A crash mid-upload leaves only a
// pending file, never a blob; BlobStore.RemovePendingBefore clears those.
func (s *Service) Upload(stream grpc.ClientStreamingServer[catalogv1.UploadProductImageRequest, catalogv1.UploadProductImageResponse]) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel() // stops grpcx.Receive's goroutine when we return early
	inbox := grpcx.Receive(ctx, stream.Recv)

	first, err := next(ctx, inbox)
	if errors.Is(err, io.EOF) {
		return errs.BadRequest(ReasonMetadataRequired, errs.FieldViolation{
			Field: "metadata", Description: "the upload ended before its metadata",
		})
	}
	if err != nil {
		return err
	}
	md := first.GetMetadata()
	if md == nil {
		return errs.BadRequest(ReasonMetadataRequired, errs.FieldViolation{
			Field: "metadata", Description: "the first message of an upload must be its metadata",
		})
	}
	if err := s.checkMetadata(md); err != nil {
		return err
	}

	blob, err := s.blobs.Create()
	if err != nil {
		return errs.Wrap(err, errs.Internal, "", "")
	}
	defer func() { _ = blob.Abort() }() // a no-op once committed

	body := newUploadBody(md.GetSizeBytes())
	for {
		in, err := next(ctx, inbox)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if in.GetMetadata() != nil {
			return errs.BadRequest(ReasonDuplicateMetadata, errs.FieldViolation{
				Field: "metadata", Description: "an upload sends its metadata once, first",
			})
		}
		chunk := in.GetChunk()
		if err := body.accept(chunk); err != nil {
			return err
		}
		if _, err := blob.Write(chunk); err != nil {
			return errs.Wrap(err, errs.Internal, "", "")
		}
	}
	img, err := body.finish(md.GetSha256())
	if err != nil {
		return err
	}
	img.ID = uuid.NewString()

	if err := ctx.Err(); err != nil { // the client gave up: keep nothing
		return err
	}
	if err := blob.Commit(img.ID); err != nil {
		return errs.Wrap(err, errs.Internal, "", "")
	}
	if err := s.products.AddImage(ctx, md.GetProductId(), img); err != nil {
		if rmErr := s.blobs.Remove(img.ID); rmErr != nil {
			// The client still gets AddImage's error; the orphan left
			// behind is harmless, since nothing names it.
			return fmt.Errorf("%w (removing its blob: %w)", err, rmErr)
		}
		return err
	}
	return stream.SendAndClose(&catalogv1.UploadProductImageResponse{Image: &catalogv1.ImageRef{
		Id:          img.ID,
		ContentType: img.ContentType,
		SizeBytes:   img.SizeBytes,
		Sha256:      img.SHA256,
	}})
}

// next returns the next message of an upload, io.EOF at its end, or the
// context's error if the call ends first.
func next(ctx context.Context, inbox <-chan grpcx.Received[catalogv1.UploadProductImageRequest]) (*catalogv1.UploadProductImageRequest, error) {
	select {
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	case in := <-inbox:
		return in.Msg, in.Err
	}
}

// checkMetadata checks what the server's validation cannot know (the
// configured maximum) and, so that Service stands without the validation
// interceptor too, the shape of the size and checksum.
func (s *Service) checkMetadata(md *catalogv1.ImageMetadata) error {
	size := md.GetSizeBytes()
	if size < 1 {
		return errs.BadRequest(ReasonInvalidMetadata, errs.FieldViolation{
			Field: "metadata.size_bytes", Description: "must be at least 1",
		})
	}
	if size > s.maxSize {
		return tooLarge(fmt.Sprintf("the declared size %d is over the maximum of %d bytes", size, s.maxSize), s.maxSize)
	}
	if sum := md.GetSha256(); len(sum) != hex.EncodedLen(sha256.Size) || !isLowerHex(sum) {
		return errs.BadRequest(ReasonInvalidMetadata, errs.FieldViolation{
			Field: "metadata.sha256", Description: "must be 64 lower-case hex digits",
		})
	}
	return nil
}

func isLowerHex(s string) bool {
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func tooLarge(msg string, limit int64) error {
	return errs.New(errs.ResourceExhausted, ReasonImageTooLarge, msg,
		errs.WithQuotaViolation("image size", "at most "+strconv.FormatInt(limit, 10)+" bytes"))
}

// uploadBody checks an upload's bytes as they stream past: their count
// against the declared size, their type from the first 512, their hash.
type uploadBody struct {
	declared    int64
	received    int64
	hash        hash.Hash
	sniff       []byte // the first bytes, until sniffed
	contentType string // set once sniffed
}

func newUploadBody(declared int64) *uploadBody {
	return &uploadBody{declared: declared, hash: sha256.New(), sniff: make([]byte, 0, sniffLen)}
}

// accept takes the next chunk, failing as soon as it is too many bytes or
// the bytes so far show the body is not an image.
func (b *uploadBody) accept(chunk []byte) error {
	if int64(len(chunk)) > b.declared-b.received {
		return tooLarge(fmt.Sprintf("more than the declared %d bytes", b.declared), b.declared)
	}
	b.received += int64(len(chunk))
	b.hash.Write(chunk) // a hash.Hash never returns an error
	if b.contentType == "" {
		b.sniff = append(b.sniff, chunk[:min(len(chunk), sniffLen-len(b.sniff))]...)
		if len(b.sniff) == sniffLen || b.received == b.declared {
			return b.sniffType()
		}
	}
	return nil
}

// sniffType decides the media type from the bytes gathered so far.
func (b *uploadBody) sniffType() error {
	ct := http.DetectContentType(b.sniff)
	if !allowedTypes[ct] {
		return errs.BadRequest(ReasonNotAnImage, errs.FieldViolation{
			Field: "chunk", Description: "the bytes are " + ct + ", not a PNG, JPEG, GIF or WebP image",
		})
	}
	b.contentType, b.sniff = ct, nil
	return nil
}

// finish checks the whole body against the declared size and checksum.
func (b *uploadBody) finish(wantSHA256 string) (Image, error) {
	if b.received < b.declared {
		return Image{}, errs.BadRequest(ReasonImageTruncated, errs.FieldViolation{
			Field:       "metadata.size_bytes",
			Description: fmt.Sprintf("declared %d bytes but the upload ended after %d", b.declared, b.received),
		})
	}
	// All bytes arrived, so accept has sniffed the type (at the last byte
	// at the latest).
	got := hex.EncodeToString(b.hash.Sum(nil))
	if got != wantSHA256 {
		return Image{}, errs.New(errs.DataLoss, ReasonChecksumMismatch,
			"the bytes received do not have the declared SHA-256; nothing was stored",
			errs.WithMetadata("received_sha256", got))
	}
	return Image{ContentType: b.contentType, SHA256: got, SizeBytes: b.received}, nil
}

// Download implements DownloadProductImage: the header carries the image's
// SHA-256 (HeaderSHA256) and media type (HeaderContentType), then the bytes
// follow in ChunkSize chunks.
//
// Each chunk is read from disk only when the previous one has been handed
// to gRPC, and Send blocks while the client's flow-control window is full,
// so a slow client holds a few chunks of server memory, never the image.
// An unknown product or image is NOT_FOUND.
func (s *Service) Download(req *catalogv1.DownloadProductImageRequest, stream grpc.ServerStreamingServer[catalogv1.DownloadProductImageResponse]) error {
	ctx := stream.Context()
	img, err := s.products.Image(ctx, req.GetProductId(), req.GetImageId())
	if err != nil {
		return err
	}
	f, err := s.blobs.Open(img.ID)
	if errors.Is(err, fs.ErrNotExist) {
		return errs.Wrap(err, errs.DataLoss, ReasonBlobMissing, "the image's bytes are missing")
	}
	if err != nil {
		return errs.Wrap(err, errs.Internal, "", "")
	}
	defer func() { _ = f.Close() }()

	if err := stream.SendHeader(metadata.Pairs(
		HeaderSHA256, img.SHA256,
		HeaderContentType, img.ContentType,
	)); err != nil {
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		// A fresh buffer per chunk: a sent message must not change after
		// Send, which may hand it to stats handlers that read it later.
		buf := make([]byte, ChunkSize)
		n, err := io.ReadFull(f, buf)
		if n > 0 {
			if sendErr := stream.Send(&catalogv1.DownloadProductImageResponse{Chunk: buf[:n]}); sendErr != nil {
				return sendErr
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		if err != nil {
			return errs.Wrap(err, errs.Internal, "", "")
		}
	}
}
