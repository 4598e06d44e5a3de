package images

import "context"

// Products is what images needs from the catalog: a place to record an
// uploaded image against its product and to look one up again.
type Products interface {
	// AddImage appends img to the images of product productID. It returns
	// a NotFound *errs.Error if there is no such product.
	AddImage(ctx context.Context, productID string, img Image) error
	// Image returns image imageID of product productID. It returns a
	// NotFound *errs.Error if either does not exist.
	Image(ctx context.Context, productID, imageID string) (Image, error)
	// ImageIDs returns the ids of every image of every product.
	ImageIDs(ctx context.Context) (map[string]struct{}, error)
}

// Image describes a stored image; its bytes are the blob named ID.
type Image struct {
	// ID names the image and its blob.
	ID string
	// ContentType is the sniffed media type, such as "image/png".
	ContentType string
	// SHA256 is the lower-case hex SHA-256 of the bytes.
	SHA256 string
	// SizeBytes is the size of the bytes.
	SizeBytes int64
}
