package scenarios

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"sync/atomic"
	"time"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"

	"github.com/bazaarhq/bazaar/internal/catalog/images"
)

// DefaultImageSize is the default of Env.ImageSize: 64 KiB, one ChunkSize
// chunk and a bit, a thumbnail. Per-upload costs (a file, its fsync, a
// catalog write) dominate at that size; --image-size 1048576 measures the
// bytes' path instead.
const DefaultImageSize = 64 << 10

// imageSide is the side in pixels of a generated image of about size
// bytes: random RGBA noise does not compress, so the PNG is about 4·side²
// bytes.
func imageSide(size int) int {
	side := 1
	for (side+1)*(side+1)*4 <= size {
		side++
	}
	return side
}

// imagesPerProduct is how many images upload adds to one product before
// it moves on to a new one: a product's image list is part of every read
// of it, and must not grow without bound.
const imagesPerProduct = 50

// upload streams a generated PNG as the admin with images.Upload
// (metadata, then 64 KiB chunks; the server checks size, type and SHA-256
// before it commits the image). The products are drafts of its own,
// invisible to customers, so uploads never weigh on browse's listings;
// each worker moves to a new one every imagesPerProduct images (creating
// it is not part of the recorded latency).
type upload struct {
	*shopper
	token    string
	catalogs []catalogv1.CatalogServiceClient // one per connection (Env.Conns)
	png      []byte
	products []string // per worker
	uploaded []int    // per worker
	made     atomic.Int64
}

func newUpload(ctx context.Context, env Env) (*upload, error) {
	s, err := newShopper(env)
	if err != nil {
		return nil, err
	}
	u := &upload{shopper: s, png: noisePNG(imageSide(env.ImageSize), 7), products: make([]string, env.Workers), uploaded: make([]int, env.Workers)}
	ccs, err := u.pool("catalog")
	if err == nil {
		u.catalogs = clientsOf(ccs, catalogv1.NewCatalogServiceClient)
		u.token, err = u.adminToken(ctx)
	}
	for w := 0; err == nil && w < env.Workers; w++ {
		u.products[w], err = u.draft(bearer(ctx, u.token))
	}
	if err != nil {
		_ = u.Close()
		return nil, err
	}
	env.logf("upload: a %d-byte PNG per request, to draft products of its own", len(u.png))
	return u, nil
}

func (u *upload) draft(ctx context.Context) (string, error) {
	return u.product(ctx, fmt.Sprintf("IMG%d", u.made.Add(1)), catalogv1.ProductStatus_PRODUCT_STATUS_DRAFT, 10, 0)
}

func (*upload) Name() string { return "upload" }

func (u *upload) Do(ctx context.Context, w int) (time.Duration, error) {
	ctx = bearer(ctx, u.token)
	if u.uploaded[w] >= imagesPerProduct {
		id, err := u.draft(ctx)
		if err != nil {
			return 0, err
		}
		u.products[w], u.uploaded[w] = id, 0
	}
	u.uploaded[w]++
	start := time.Now()
	_, err := images.Upload(ctx, u.catalogs[w%len(u.catalogs)], u.products[w], bytes.NewReader(u.png), int64(len(u.png)))
	return max(time.Since(start), time.Microsecond), err
}

// Bytes is the size of one upload.
func (u *upload) Bytes() int { return len(u.png) }

// noisePNG encodes a side×side PNG of seeded random pixels.
func noisePNG(side int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed)) //nolint:gosec // pixels
	img := image.NewNRGBA(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = byte(rng.Uint32())
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		panic(err) // encoding to memory cannot fail
	}
	return buf.Bytes()
}
