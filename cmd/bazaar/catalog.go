package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
	"github.com/bazaarhq/bazaar/internal/catalog/images"
)

const catalogUsage = `usage: bazaar catalog COMMAND [flags] ARGS

commands:
  upload-image PRODUCT_ID FILE           stream an image to a product (client streaming; admin token)
  download-image PRODUCT_ID IMAGE_ID OUT stream an image back and check its SHA-256 (server streaming)

Run 'bazaar catalog COMMAND -h' for the flags.
`

// catalogCommand runs a `bazaar catalog` client command against a running
// catalog service.
func catalogCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, catalogUsage)
		return errors.New("no catalog command given")
	}
	var c clientFlags
	fs := flag.NewFlagSet("bazaar catalog "+args[0], flag.ContinueOnError)
	fs.SetOutput(stdout)
	c.register(fs, getenv, "catalog", "127.0.0.1:50054")
	var want int
	switch args[0] {
	case "upload-image":
		want = 2
	case "download-image":
		want = 3
	case "help", "-h", "--help":
		fmt.Fprint(stdout, catalogUsage)
		return nil
	default:
		fmt.Fprint(stdout, catalogUsage)
		return fmt.Errorf("unknown catalog command %q", args[0])
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != want {
		return fmt.Errorf("bazaar catalog %s takes %d arguments, got %d (see -h)", args[0], want, fs.NArg())
	}
	cc, err := c.dial()
	if err != nil {
		return err
	}
	defer func() { _ = cc.Close() }()
	client := catalogv1.NewCatalogServiceClient(cc)
	ctx, cancel := c.context(ctx)
	defer cancel()
	a := fs.Args()
	if args[0] == "upload-image" {
		return uploadImage(ctx, client, a[0], a[1], stdout)
	}
	return downloadImage(ctx, client, a[0], a[1], a[2], stdout)
}

func uploadImage(ctx context.Context, client catalogv1.CatalogServiceClient, productID, file string, stdout io.Writer) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }() // read only
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	img, err := images.Upload(ctx, client, productID, f, fi.Size())
	if err != nil {
		return fmt.Errorf("UploadProductImage: %w", describe(err))
	}
	fmt.Fprintf(stdout, "uploaded %s: image %s, %s, %d bytes, sha256 %s\n",
		file, img.GetId(), img.GetContentType(), img.GetSizeBytes(), img.GetSha256())
	return nil
}

// downloadImage writes the image to a temporary file beside out and
// renames it into place only once its checksum is verified.
func downloadImage(ctx context.Context, client catalogv1.CatalogServiceClient, productID, imageID, out string, stdout io.Writer) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(out), ".download-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	ctype, sum, err := images.Download(ctx, client, productID, imageID, tmp)
	if err != nil {
		return fmt.Errorf("DownloadProductImage: %w", describe(err))
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "downloaded image %s to %s: %s, sha256 %s (verified)\n", imageID, out, ctype, sum)
	return nil
}
