package catalog

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

const (
	maxRequestID = 64
	maxBatch     = 100
)

// CreateProduct adds p (its ID, times, images and version are ignored and
// set by the catalog; an unspecified status is draft) with a stock row of 0
// units. requestID makes retries safe: the same id with the same product
// returns the product first created, even concurrently.
//
// Errors: INVALID_ARGUMENT PRODUCT_INVALID (field "product.<name>"),
// REQUEST_ID_INVALID, IDEMPOTENCY_KEY_REUSED (the id created a different
// product); ALREADY_EXISTS SKU_TAKEN.
func (s *Service) CreateProduct(ctx context.Context, p *Product, requestID string) (*Product, error) {
	if requestID == "" || len(requestID) > maxRequestID {
		return nil, invalidField(ReasonRequestIDInvalid, "request_id", "must be 1 to 64 characters")
	}
	np := p.Clone()
	if np.Status == StatusUnspecified {
		np.Status = StatusDraft
	}
	if err := np.validate(); err != nil {
		return nil, err
	}
	if prev, err := s.replayCreate(ctx, np, requestID); prev != nil || err != nil {
		return prev, err
	}
	now := s.now()
	np.ID, np.CreateTime, np.UpdateTime, np.Version, np.Images = s.cfg.NewID(), now, now, 1, []ImageRef{}
	stock := Stock{SKU: np.SKU, ProductID: np.ID, Category: np.Category, ProductStatus: np.Status}
	req := CreateRequest{ID: requestID, Fingerprint: fingerprint(np)}
	err := s.store.CreateProduct(ctx, np, req, priceEvent(np, now), statusEvent(np, now), stockEvent(&stock, now))
	if errors.Is(err, ErrDuplicate) {
		// A concurrent retry with the same request id won the race, or the
		// SKU is taken.
		if prev, rerr := s.replayCreate(ctx, np, requestID); prev != nil || rerr != nil {
			return prev, rerr
		}
		return nil, errs.New(errs.AlreadyExists, ReasonSKUTaken, "another product has SKU "+quote(np.SKU),
			errs.WithResource("sku", np.SKU, ""))
	}
	if err != nil {
		return nil, storeError(err, "creating product %s", np.SKU)
	}
	return np, nil
}

// replayCreate returns the product an earlier CreateProduct with requestID
// created (as it is now, which a later update may have changed), if any:
// (nil, nil) when there is none. The request must ask for the same product
// as the first one did.
func (s *Service) replayCreate(ctx context.Context, p *Product, requestID string) (*Product, error) {
	prev, req, err := s.store.ProductByRequest(ctx, requestID)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, storeError(err, "reading create request")
	case !bytes.Equal(req.Fingerprint, fingerprint(p)):
		return nil, errIdempotencyKeyReused()
	}
	return prev, nil
}

// GetProduct returns the product with id as caller (nil for an anonymous
// customer) may see it: a draft is NOT_FOUND to customers, as if it did not
// exist. Errors: NOT_FOUND PRODUCT_NOT_FOUND.
func (s *Service) GetProduct(ctx context.Context, caller *auth.Principal, id string) (*Product, error) {
	p, err := s.product(ctx, id)
	if err != nil {
		return nil, err
	}
	if !visibleTo(caller, p) {
		return nil, errProductNotFound(id)
	}
	return p, nil
}

// product returns the product with id whatever its status.
func (s *Service) product(ctx context.Context, id string) (*Product, error) {
	p, err := s.store.Product(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, errProductNotFound(id)
	case err != nil:
		return nil, storeError(err, "reading product")
	}
	return p, nil
}

// BatchGetProducts returns the products with the given ids in the order
// asked, and the ids not found (drafts, to a caller who may not see them),
// with one store query. Errors: INVALID_ARGUMENT for no ids or more than
// 100.
func (s *Service) BatchGetProducts(ctx context.Context, caller *auth.Principal, ids []string) (found []*Product, missing []string, err error) {
	if len(ids) == 0 || len(ids) > maxBatch {
		return nil, nil, invalidField(ReasonProductInvalid, "ids", "must name 1 to 100 products")
	}
	ps, err := s.store.Products(ctx, ids)
	if err != nil {
		return nil, nil, storeError(err, "reading products")
	}
	byID := make(map[string]*Product, len(ps))
	for _, p := range ps {
		byID[p.ID] = p
	}
	found, missing = make([]*Product, 0, len(ps)), []string{}
	for _, id := range ids {
		if p, ok := byID[id]; ok && visibleTo(caller, p) {
			found = append(found, p)
		} else {
			missing = append(missing, id)
		}
	}
	return found, missing, nil
}

// The update mask paths UpdateProduct accepts (the API's field names).
const (
	PathTitle           = "title"
	PathDescription     = "description"
	PathBrand           = "brand"
	PathCategory        = "category"
	PathPrice           = "price"
	PathAttributes      = "attributes"
	PathStatus          = "status"
	PathPartnerMetadata = "partner_metadata"
	PathPhysical        = "physical"
	PathDigital         = "digital"
	PathGiftCard        = "gift_card"
)

var kindPaths = map[string]KindType{PathPhysical: KindPhysical, PathDigital: KindDigital, PathGiftCard: KindGiftCard}

// UpdateProduct sets the fields of the product with p.ID that paths name to
// their values in p, if etag is the product's current one. A kind path
// ("physical", "digital", "gift_card") sets that kind when p has it, and
// clears the product's kind when p has another kind but the product had
// that one. A price or status change appends its event.
//
// Errors: INVALID_ARGUMENT UPDATE_MASK_INVALID (no path, an unknown one, or
// "sku", "images", "id", "etag", times: immutable or output-only),
// PRODUCT_INVALID; NOT_FOUND PRODUCT_NOT_FOUND; ABORTED ETAG_MISMATCH.
func (s *Service) UpdateProduct(ctx context.Context, p *Product, etag string, paths []string) (*Product, error) {
	if p.ID == "" {
		return nil, invalidField(ReasonProductInvalid, "product.id", "must name the product to update")
	}
	if len(paths) == 0 {
		return nil, invalidField(ReasonUpdateMaskInvalid, "update_mask", "must name at least one field")
	}
	for _, path := range paths {
		if !validPath(path) {
			return nil, invalidField(ReasonUpdateMaskInvalid, "update_mask",
				"path "+quote(path)+" is unknown, immutable or output-only")
		}
	}
	return s.updateProduct(ctx, p.ID, etag, func(cur *Product) {
		for _, path := range paths {
			applyPath(cur, p, path)
		}
	})
}

func validPath(path string) bool {
	switch path {
	case PathTitle, PathDescription, PathBrand, PathCategory, PathPrice, PathAttributes, PathStatus, PathPartnerMetadata:
		return true
	}
	_, ok := kindPaths[path]
	return ok
}

func applyPath(cur, p *Product, path string) {
	switch path {
	case PathTitle:
		cur.Title = p.Title
	case PathDescription:
		cur.Description = p.Description
	case PathBrand:
		cur.Brand = p.Brand
	case PathCategory:
		cur.Category = p.Category
	case PathPrice:
		cur.Price = p.Price
	case PathAttributes:
		cur.Attributes = p.Attributes
	case PathStatus:
		cur.Status = p.Status
	case PathPartnerMetadata:
		cur.PartnerMetadata = PartnerMetadata{TypeURL: p.PartnerMetadata.TypeURL, Value: slices.Clone(p.PartnerMetadata.Value)}
	default:
		switch t := kindPaths[path]; {
		case p.Kind.Type == t:
			cur.Kind = p.Kind
		case cur.Kind.Type == t:
			cur.Kind = Kind{}
		}
	}
}

// ArchiveProduct takes the product with id off sale (status archived) if
// etag is its current one. Archiving an archived product changes nothing.
// Errors: NOT_FOUND PRODUCT_NOT_FOUND; ABORTED ETAG_MISMATCH.
func (s *Service) ArchiveProduct(ctx context.Context, id, etag string) (*Product, error) {
	return s.updateProduct(ctx, id, etag, func(cur *Product) { cur.Status = StatusArchived })
}

// updateProduct is the read-modify-write of UpdateProduct and
// ArchiveProduct: it checks the etag, applies change, validates the result
// and, if anything changed, bumps the version and appends the events.
func (s *Service) updateProduct(ctx context.Context, id, etag string, change func(cur *Product)) (*Product, error) {
	now := s.now()
	p, err := s.store.UpdateProduct(ctx, id, func(cur *Product) ([]Event, error) {
		if etag != cur.Etag() {
			return nil, errs.New(errs.Aborted, ReasonEtagMismatch,
				"the product changed since it was read: read it again, then retry",
				errs.WithMetadata("etag", cur.Etag()))
		}
		before := cur.Clone()
		change(cur)
		if cur.Status == StatusUnspecified {
			cur.Status = before.Status
		}
		if err := cur.validate(); err != nil {
			return nil, err
		}
		if sameContent(before, cur) {
			return nil, nil
		}
		cur.Version++
		cur.UpdateTime = now
		var events []Event
		if cur.Price != before.Price {
			events = append(events, priceEvent(cur, now))
		}
		if cur.Status != before.Status {
			events = append(events, statusEvent(cur, now))
		}
		return events, nil
	})
	var domainErr *errs.Error
	switch {
	case err == nil:
		return p, nil
	case errors.Is(err, ErrNotFound):
		return nil, errProductNotFound(id)
	case errors.As(err, &domainErr):
		return nil, err
	}
	return nil, storeError(err, "updating product")
}

// AddImage appends img to the images of the product with productID (the
// image streaming upload calls it once the bytes are stored). Adding an
// image whose id the product already has replaces nothing and returns the
// product as is. Errors: INVALID_ARGUMENT for an image without id, content
// type, size or sha256; NOT_FOUND PRODUCT_NOT_FOUND.
func (s *Service) AddImage(ctx context.Context, productID string, img ImageRef) (*Product, error) {
	if img.ID == "" || img.ContentType == "" || img.SizeBytes <= 0 || len(img.SHA256) != 64 ||
		!utf8.ValidString(img.ID) || strings.ContainsAny(img.SHA256, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
		return nil, invalidField(ReasonProductInvalid, "image", "needs an id, a content type, a size and a hex SHA-256")
	}
	now := s.now()
	p, err := s.store.UpdateProduct(ctx, productID, func(cur *Product) ([]Event, error) {
		if slices.ContainsFunc(cur.Images, func(i ImageRef) bool { return i.ID == img.ID }) {
			return nil, nil
		}
		cur.Images = append(cur.Images, img)
		cur.Version++
		cur.UpdateTime = now
		return nil, nil
	})
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, errProductNotFound(productID)
	case err != nil:
		return nil, storeError(err, "adding image")
	}
	return p, nil
}

// ImageIDs returns the ids of every product image the catalog records
// (for sweeping blobs no product refers to).
func (s *Service) ImageIDs(ctx context.Context) (map[string]struct{}, error) {
	ids, err := s.store.ImageIDs(ctx)
	if err != nil {
		return nil, storeError(err, "listing image ids")
	}
	return ids, nil
}

// Image returns the image imageID of the product productID. Errors:
// NOT_FOUND PRODUCT_NOT_FOUND or IMAGE_NOT_FOUND.
func (s *Service) Image(ctx context.Context, productID, imageID string) (ImageRef, error) {
	p, err := s.product(ctx, productID)
	if err != nil {
		return ImageRef{}, err
	}
	for _, img := range p.Images {
		if img.ID == imageID {
			return img, nil
		}
	}
	return ImageRef{}, errs.New(errs.NotFound, ReasonImageNotFound, "image not found", errs.WithResource("image", imageID, ""))
}
