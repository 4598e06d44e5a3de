// Package seed loads a realistic sample catalog: `bazaar seed` calls
// Catalog. The catalog is generated, not stored: the same products (titles,
// descriptions, prices, attributes, kinds, stock and, optionally, small PNG
// swatches as images) come out on every run, from nothing but the product's
// index.
//
// Seeding is idempotent. Each product is created with a request id derived
// from its SKU, so a second run replays the first run's creates instead of
// adding products; its stock is set with an adjustment whose request id is
// derived the same way, so it is applied once; and an image is stored only
// if the product does not have it yet. A run that stopped halfway finishes
// the job when run again.
package seed

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"slices"

	"github.com/google/uuid"

	"github.com/bazaarhq/bazaar/internal/catalog"
	"github.com/bazaarhq/bazaar/internal/catalog/images"
)

// DefaultProducts is how many products Catalog seeds unless told otherwise.
const DefaultProducts = 1000

// maxProducts bounds WithProducts: SKUs have five digits.
const maxProducts = 99_999

// Result describes the sample catalog after a run.
type Result struct {
	// Products is how many sample products the catalog holds, created by
	// this run or an earlier one.
	Products int
	// Categories is how many categories they span.
	Categories int
	// StockUnits is the seeded stock of all of them together (what the
	// seeding adjustments added; sales since do not change it).
	StockUnits int64
	// ImagesAdded is how many images this run stored: 0 without
	// WithImages, and 0 on a re-run.
	ImagesAdded int
}

// Option configures Catalog.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	products int
	blobs    *images.BlobStore
}

// WithProducts sets how many products to seed (1 to 99,999). Default
// DefaultProducts. A smaller number seeds a prefix of the same catalog.
func WithProducts(n int) Option {
	return optionFunc(func(c *config) { c.products = n })
}

// WithImages gives each product one generated 64×64 PNG swatch, stored in
// blobs (the blob store the catalog's image download reads) and recorded
// with catalog.Service.AddImage. Without it products have no images.
func WithImages(blobs *images.BlobStore) Option {
	return optionFunc(func(c *config) { c.blobs = blobs })
}

// Catalog seeds svc with the sample catalog: DefaultProducts active
// products across the sample categories, each with stock. Running it again
// (or after a partial run) creates nothing twice. It stops at the first
// error, which names the product.
func Catalog(ctx context.Context, svc *catalog.Service, opts ...Option) (Result, error) {
	cfg := config{products: DefaultProducts}
	for _, o := range opts {
		o.apply(&cfg)
	}
	if svc == nil {
		return Result{}, errors.New("seed: nil catalog service")
	}
	if cfg.products < 1 || cfg.products > maxProducts {
		return Result{}, fmt.Errorf("seed: %d products: want 1 to %d", cfg.products, maxProducts)
	}
	var res Result
	seen := make(map[string]bool)
	for i := range cfg.products {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("seed: %w", err)
		}
		sp := sample(i)
		p, err := svc.CreateProduct(ctx, sp.product, requestID("product", sp.product.SKU))
		if err != nil {
			return res, fmt.Errorf("seed: creating %s: %w", sp.product.SKU, err)
		}
		if _, err := svc.AdjustStock(ctx, catalog.AdjustRequest{
			SKU:       p.SKU,
			Delta:     sp.stock,
			Reason:    "seed: opening stock",
			RequestID: requestID("stock", p.SKU),
		}); err != nil {
			return res, fmt.Errorf("seed: stocking %s: %w", p.SKU, err)
		}
		if cfg.blobs != nil {
			added, err := addSwatch(ctx, svc, cfg.blobs, p, sp.swatch)
			if err != nil {
				return res, fmt.Errorf("seed: image of %s: %w", p.SKU, err)
			}
			if added {
				res.ImagesAdded++
			}
		}
		res.Products++
		res.StockUnits += sp.stock
		if !seen[p.Category] {
			seen[p.Category] = true
			res.Categories++
		}
	}
	return res, nil
}

// requestNamespace is the UUID namespace of the seed's request ids.
var requestNamespace = uuid.MustParse("6f0b7d1e-8a2c-4c55-9a37-0c5e1d2b3a41")

// requestID is the idempotency key of one seeding step of a SKU: a UUID
// (version 8, as RFC 9562 B.2 builds from SHA-256) of the step and SKU, the
// same on every run.
func requestID(step, sku string) string {
	return uuid.NewHash(sha256.New(), requestNamespace, []byte(step+":"+sku), 8).String()
}

// addSwatch stores p's swatch and records it, unless p already has it. It
// reports whether it added the image. The blob id is derived from the SKU:
// a run that stored the blob but stopped before AddImage rewrites the same
// bytes under the same id.
func addSwatch(ctx context.Context, svc *catalog.Service, blobs *images.BlobStore, p *catalog.Product, c color.RGBA) (bool, error) {
	sum := sha256.Sum256([]byte("image:" + p.SKU))
	id := "seed-" + hex.EncodeToString(sum[:12])
	if slices.ContainsFunc(p.Images, func(img catalog.ImageRef) bool { return img.ID == id }) {
		return false, nil
	}
	data, err := swatchPNG(c)
	if err != nil {
		return false, err
	}
	blob, err := blobs.Create()
	if err != nil {
		return false, err
	}
	defer func() { _ = blob.Abort() }() // no-op once committed
	if _, err := blob.Write(data); err != nil {
		return false, err
	}
	if err := blob.Commit(id); err != nil {
		return false, err
	}
	digest := sha256.Sum256(data)
	_, err = svc.AddImage(ctx, p.ID, catalog.ImageRef{
		ID:          id,
		ContentType: "image/png",
		SizeBytes:   int64(len(data)),
		SHA256:      hex.EncodeToString(digest[:]),
	})
	return err == nil, err
}

// swatchSize is the side of a swatch in pixels.
const swatchSize = 64

// swatchPNG draws a 64×64 swatch of c with a lighter diagonal band, a few
// hundred bytes of PNG.
func swatchPNG(c color.RGBA) ([]byte, error) {
	img := image.NewPaletted(image.Rect(0, 0, swatchSize, swatchSize), color.Palette{c, lighter(c)})
	for y := range swatchSize {
		for x := range swatchSize {
			if d := x - y; d > -8 && d < 8 {
				img.SetColorIndex(x, y, 1)
			}
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encoding swatch: %w", err)
	}
	return buf.Bytes(), nil
}

// lighter mixes c halfway to white.
func lighter(c color.RGBA) color.RGBA {
	mix := func(v uint8) uint8 { return v + (255-v)/2 }
	return color.RGBA{R: mix(c.R), G: mix(c.G), B: mix(c.B), A: 255}
}
