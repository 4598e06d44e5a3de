package images_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
	"github.com/bazaarhq/bazaar/internal/catalog/images"
)

func TestUploadDownloadRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		data     []byte
		wantType string
	}{
		{"png of several chunks", noisePNG(t, 200, 300, 1), "image/png"}, // ~240 KB: 4 chunks
		{"png smaller than the sniff window", tinyPNG(t), "image/png"},
		{"gif", []byte("GIF89a" + strings.Repeat("\x00", 600)), "image/gif"},
		{"jpeg", append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte{7}, 1000)...), "image/jpeg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := startEnv(t, nil)
			ctx := callContext(t)
			resp, err := upload(ctx, env.client, knownProduct, tc.data)
			if err != nil {
				t.Fatalf("UploadProductImage(%d bytes) = %v, want success", len(tc.data), err)
			}
			ref := resp.GetImage()
			wantSum := sha256Hex(tc.data)
			if ref.GetId() == "" || ref.GetContentType() != tc.wantType || ref.GetSizeBytes() != int64(len(tc.data)) || ref.GetSha256() != wantSum {
				t.Errorf("UploadProductImage() image = %v, want an id, type %s, size %d, sha256 %s", ref, tc.wantType, len(tc.data), wantSum)
			}
			if files := regularFiles(t, env.blobDir); len(files) != 1 || !strings.HasSuffix(files[0], ref.GetId()) {
				t.Errorf("blob directory holds %q, want just the blob of image %s", files, ref.GetId())
			}

			got, sum, contentType, err := download(ctx, env.client, knownProduct, ref.GetId())
			if err != nil {
				t.Fatalf("DownloadProductImage(%s) = %v", ref.GetId(), err)
			}
			if !bytes.Equal(got, tc.data) {
				t.Errorf("DownloadProductImage(%s) = %d bytes (sha256 %s), want the %d uploaded (sha256 %s)",
					ref.GetId(), len(got), sha256Hex(got), len(tc.data), wantSum)
			}
			if sum != wantSum || contentType != tc.wantType {
				t.Errorf("DownloadProductImage(%s) header %s=%q %s=%q, want %q and %q",
					ref.GetId(), images.HeaderSHA256, sum, images.HeaderContentType, contentType, wantSum, tc.wantType)
			}
		})
	}
}

func TestUploadFailuresStoreNothing(t *testing.T) {
	t.Parallel()
	img := noisePNG(t, 150, 150, 2) // ~90 KB: 2 chunks
	honest := metadataFor(knownProduct, img)
	with := func(change func(*catalogv1.ImageMetadata)) *catalogv1.ImageMetadata {
		md := metadataFor(knownProduct, img)
		change(md)
		return md
	}
	chunks := chunkMsgs(img, images.ChunkSize)
	upload := func(md *catalogv1.ImageMetadata, rest ...*catalogv1.UploadProductImageRequest) []*catalogv1.UploadProductImageRequest {
		return append([]*catalogv1.UploadProductImageRequest{metadataMsg(md)}, rest...)
	}
	text := []byte(strings.Repeat("this is not an image. ", 100))
	shortText := []byte("hello, not an image")

	for _, tc := range []struct {
		name string
		opts []images.Option
		msgs []*catalogv1.UploadProductImageRequest
		// early: the server must answer before the client closes its side,
		// proving it stops reading as soon as it can tell.
		early bool
		want  wantError
	}{
		{
			name:  "more bytes than declared",
			msgs:  upload(with(func(md *catalogv1.ImageMetadata) { md.SizeBytes = 70_000 }), chunks...),
			early: true,
			want:  wantError{code: codes.ResourceExhausted, reason: images.ReasonImageTooLarge},
		},
		{
			name: "declared size over the maximum",
			opts: []images.Option{images.WithMaxImageSize(50_000)},
			msgs: upload(honest, chunks...),
			want: wantError{code: codes.ResourceExhausted, reason: images.ReasonImageTooLarge},
		},
		{
			name: "checksum mismatch",
			msgs: upload(with(func(md *catalogv1.ImageMetadata) { md.Sha256 = sha256Hex([]byte("other bytes")) }), chunks...),
			want: wantError{code: codes.DataLoss, reason: images.ReasonChecksumMismatch},
		},
		{
			name:  "not an image",
			msgs:  upload(metadataFor(knownProduct, text), chunkMsg(text[:512])),
			early: true,
			want:  wantError{code: codes.InvalidArgument, reason: images.ReasonNotAnImage, field: "chunk"},
		},
		{
			name: "not an image, smaller than the sniff window",
			msgs: upload(metadataFor(knownProduct, shortText), chunkMsg(shortText)),
			want: wantError{code: codes.InvalidArgument, reason: images.ReasonNotAnImage, field: "chunk"},
		},
		{
			name: "fewer bytes than declared",
			msgs: upload(honest, chunks[0]),
			want: wantError{code: codes.InvalidArgument, reason: images.ReasonImageTruncated, field: "metadata.size_bytes"},
		},
		{
			name:  "chunk before metadata",
			msgs:  chunks,
			early: true,
			want:  wantError{code: codes.InvalidArgument, reason: images.ReasonMetadataRequired, field: "metadata"},
		},
		{
			name: "no message at all",
			msgs: nil,
			want: wantError{code: codes.InvalidArgument, reason: images.ReasonMetadataRequired, field: "metadata"},
		},
		{
			name:  "metadata twice",
			msgs:  upload(honest, chunks[0], metadataMsg(honest)),
			early: true,
			want:  wantError{code: codes.InvalidArgument, reason: images.ReasonDuplicateMetadata, field: "metadata"},
		},
		{
			name: "unknown product",
			msgs: upload(metadataFor("no-such-product", img), chunks...),
			want: wantError{code: codes.NotFound},
		},
		{
			name: "malformed checksum (refused by validation)",
			msgs: upload(with(func(md *catalogv1.ImageMetadata) { md.Sha256 = "ABC" }), chunks...),
			want: wantError{code: codes.InvalidArgument, field: "metadata.sha256"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := startEnv(t, tc.opts)
			ctx := callContext(t)
			call := fmt.Sprintf("UploadProductImage(%s)", tc.name)
			var err error
			if tc.early {
				err = sendWithoutClosing(ctx, env.client, tc.msgs)
			} else {
				_, err = uploadMsgs(ctx, env.client, tc.msgs)
			}
			checkError(t, call, err, tc.want)
			waitForFiles(t, env.blobDir, "emptied", func(files []string) bool { return len(files) == 0 })
			if n := env.products.count(); n != 0 {
				t.Errorf("after %s the catalog has %d images, want 0", call, n)
			}
		})
	}
}

// sendWithoutClosing sends msgs and waits for the server's answer without
// closing the client's side: the server must decide on what it has.
func sendWithoutClosing(ctx context.Context, client catalogv1.CatalogServiceClient, msgs []*catalogv1.UploadProductImageRequest) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.UploadProductImage(ctx)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if err := stream.Send(m); err != nil {
			break // the server answered already; RecvMsg has its status
		}
	}
	err = stream.RecvMsg(new(catalogv1.UploadProductImageResponse))
	if err == nil {
		return fmt.Errorf("upload succeeded without the client closing its side")
	}
	return err
}

func TestUploadCancelledMidwayStoresNothing(t *testing.T) {
	t.Parallel()
	env := startEnv(t, nil)
	img := noisePNG(t, 200, 300, 3)
	ctx, cancel := context.WithCancel(callContext(t))
	defer cancel()
	stream, err := env.client.UploadProductImage(ctx)
	if err != nil {
		t.Fatalf("UploadProductImage() = %v", err)
	}
	msgs := chunkMsgs(img, images.ChunkSize)
	for _, m := range append([]*catalogv1.UploadProductImageRequest{metadataMsg(metadataFor(knownProduct, img))}, msgs[:2]...) {
		if err := stream.Send(m); err != nil {
			t.Fatalf("Send() = %v", err)
		}
	}
	// The handler has started writing the blob (so the test below is not
	// vacuous) ...
	waitForFiles(t, env.blobDir, "got a pending blob", func(files []string) bool { return len(files) == 1 })
	cancel()
	// ... and removes it once the client has gone.
	waitForFiles(t, env.blobDir, "emptied after the cancel", func(files []string) bool { return len(files) == 0 })
	if n := env.products.count(); n != 0 {
		t.Errorf("after a cancelled upload the catalog has %d images, want 0", n)
	}
}

func TestDownloadUnknownImage(t *testing.T) {
	t.Parallel()
	env := startEnv(t, nil)
	ctx := callContext(t)
	for _, req := range []*catalogv1.DownloadProductImageRequest{
		{ProductId: knownProduct, ImageId: "no-such-image"},
		{ProductId: "no-such-product", ImageId: "no-such-image"},
	} {
		_, _, _, err := download(ctx, env.client, req.GetProductId(), req.GetImageId())
		checkError(t, fmt.Sprintf("DownloadProductImage(%s/%s)", req.GetProductId(), req.GetImageId()), err,
			wantError{code: codes.NotFound})
	}
}

func TestDownloadMissingBlobIsDataLoss(t *testing.T) {
	t.Parallel()
	env := startEnv(t, nil)
	ctx := callContext(t)
	resp, err := upload(ctx, env.client, knownProduct, tinyPNG(t))
	if err != nil {
		t.Fatalf("UploadProductImage() = %v", err)
	}
	id := resp.GetImage().GetId()
	if err := env.blobs.Remove(id); err != nil {
		t.Fatalf("BlobStore.Remove(%s) = %v", id, err)
	}
	_, _, _, err = download(ctx, env.client, knownProduct, id)
	checkError(t, "DownloadProductImage(image without blob)", err, wantError{code: codes.DataLoss, reason: images.ReasonBlobMissing})
}

// TestDownloadSlowReaderHoldsLittleMemory checks that a download follows
// the client's pace: with a client that reads one message and stalls, the
// handler must be blocked in Send having read only a few chunks of the
// file, not the whole image. What the handler has read is measured exactly
// by the offset of its open file (Linux's /proc/self/fdinfo), so the check
// does not depend on timing or on the garbage collector.
func TestDownloadSlowReaderHoldsLittleMemory(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("reads file offsets from /proc/self/fdinfo")
	}
	const size = 5 << 20
	// The client's windows are fixed at 64 KiB: grpc-go otherwise grows
	// them (BDP estimation) up to megabytes, which is flow control working
	// but would blur what this test measures.
	env := startEnv(t, nil, grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	ctx := callContext(t)
	data := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0xA5}, size-8)...)
	resp, err := upload(ctx, env.client, knownProduct, data)
	if err != nil {
		t.Fatalf("UploadProductImage(5 MiB) = %v", err)
	}
	id := resp.GetImage().GetId()
	files := regularFiles(t, env.blobDir)
	if len(files) != 1 {
		t.Fatalf("blob directory holds %q, want one blob", files)
	}
	blobPath := filepath.Join(env.blobDir, files[0])

	stream, err := env.client.DownloadProductImage(ctx, &catalogv1.DownloadProductImageRequest{ProductId: knownProduct, ImageId: id})
	if err != nil {
		t.Fatalf("DownloadProductImage() = %v", err)
	}
	firstMsg, err := stream.Recv()
	if err != nil {
		t.Fatalf("DownloadProductImage().Recv() = %v", err)
	}
	// Stall, watching how far the handler reads meanwhile.
	const maxReadAhead = 1 << 20
	var furthest int64
	for range 40 {
		if pos, ok := fileOffset(t, blobPath); ok {
			furthest = max(furthest, pos)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if furthest == 0 {
		t.Fatalf("found no open file %s with an offset while downloading", blobPath)
	}
	t.Logf("the handler read %d of %d bytes while the client stalled", furthest, size)
	if furthest > maxReadAhead {
		t.Errorf("with the client stalled after one message the handler read %d bytes of %d, want at most %d", furthest, size, maxReadAhead)
	}
	got := append([]byte(nil), firstMsg.GetChunk()...)
	for {
		m, err := stream.Recv()
		if err != nil {
			break
		}
		got = append(got, m.GetChunk()...)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("DownloadProductImage() = %d bytes, want the %d uploaded", len(got), len(data))
	}
}

// fileOffset returns the offset of a descriptor of this process open on
// path, and whether one is open.
func fileOffset(t *testing.T, path string) (int64, bool) {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("os.ReadDir(/proc/self/fd) = %v", err)
	}
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil || target != path {
			continue // a descriptor closed meanwhile, or another file
		}
		info, err := os.ReadFile(filepath.Join("/proc/self/fdinfo", e.Name()))
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(info)) {
			if v, ok := strings.CutPrefix(line, "pos:"); ok {
				pos, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				if err != nil {
					t.Fatalf("fdinfo pos %q: %v", v, err)
				}
				return pos, true
			}
		}
	}
	return 0, false
}

// TestDownloadCancelledClosesTheBlob checks that a download whose client
// goes away ends at once: the handler, blocked in Send, returns and closes
// the blob file.
func TestDownloadCancelledClosesTheBlob(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("reads open files from /proc/self/fd")
	}
	env := startEnv(t, nil, grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	data := append([]byte("GIF89a"), bytes.Repeat([]byte{1}, 2<<20)...)
	resp, err := upload(callContext(t), env.client, knownProduct, data)
	if err != nil {
		t.Fatalf("UploadProductImage(2 MiB) = %v", err)
	}
	files := regularFiles(t, env.blobDir)
	if len(files) != 1 {
		t.Fatalf("blob directory holds %q, want one blob", files)
	}
	blobPath := filepath.Join(env.blobDir, files[0])

	ctx, cancel := context.WithCancel(callContext(t))
	defer cancel()
	stream, err := env.client.DownloadProductImage(ctx, &catalogv1.DownloadProductImageRequest{ProductId: knownProduct, ImageId: resp.GetImage().GetId()})
	if err != nil {
		t.Fatalf("DownloadProductImage() = %v", err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatalf("DownloadProductImage().Recv() = %v", err)
	}
	if _, open := fileOffset(t, blobPath); !open {
		t.Fatalf("no open file %s while the download is stalled", blobPath)
	}
	cancel()
	deadline := time.Now().Add(testTimeout)
	for {
		if _, open := fileOffset(t, blobPath); !open {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the handler still holds %s open %v after the client cancelled", blobPath, testTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
