package order

import (
	"context"
	"errors"
	"slices"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// GetCart returns the caller's cart with the current prices of its
// products, read from the catalog in one call. Errors: UNAUTHENTICATED;
// UNAVAILABLE CATALOG_UNAVAILABLE.
func (s *Service) GetCart(ctx context.Context, caller *auth.Principal) (*PricedCart, error) {
	customer, err := customerOf(caller)
	if err != nil {
		return nil, err
	}
	c, err := s.store.Cart(ctx, customer)
	if err != nil {
		return nil, storeError(err, "reading cart")
	}
	return s.priceCart(ctx, c, nil)
}

// AddCartItem adds quantity units of an active product to the caller's
// cart and returns the cart. Errors: UNAUTHENTICATED; INVALID_ARGUMENT
// REQUEST_INVALID (also when the line would exceed 1000 units);
// FAILED_PRECONDITION PRODUCT_UNAVAILABLE, CART_FULL (100 lines);
// UNAVAILABLE CATALOG_UNAVAILABLE.
func (s *Service) AddCartItem(ctx context.Context, caller *auth.Principal, productID string, quantity int64) (*PricedCart, error) {
	customer, err := customerOf(caller)
	if err != nil {
		return nil, err
	}
	if err := validateLine(productID, quantity); err != nil {
		return nil, err
	}
	cur, err := s.store.Cart(ctx, customer)
	if err != nil {
		return nil, storeError(err, "reading cart")
	}
	// One catalog call checks the product and prices the whole cart.
	byID, err := s.products(ctx, appendUnique(lineIDs(cur.Lines), productID))
	if err != nil {
		return nil, err
	}
	if p, ok := byID[productID]; !ok || !p.Active {
		return nil, errs.New(errs.FailedPrecondition, ReasonProductUnavailable, "the product is not on sale",
			errs.WithPrecondition(PreconditionProduct, productID, "not on sale"))
	}
	c, err := s.store.UpdateCart(ctx, customer, func(c *Cart) error {
		i := slices.IndexFunc(c.Lines, func(l CartLine) bool { return l.ProductID == productID })
		switch {
		case i >= 0 && c.Lines[i].Quantity+quantity > maxQuantity:
			return invalidField(ReasonRequestInvalid, "quantity", "the line would exceed 1000 units")
		case i >= 0:
			c.Lines[i].Quantity += quantity
		case len(c.Lines) >= maxLines:
			return errs.New(errs.FailedPrecondition, ReasonCartFull, "the cart already has 100 lines")
		default:
			c.Lines = append(c.Lines, CartLine{ProductID: productID, Quantity: quantity})
		}
		c.UpdateTime = s.now()
		return nil
	})
	if err != nil {
		return nil, cartError(err)
	}
	return s.priceCart(ctx, c, byID)
}

// UpdateCartItem sets the quantity of a product's line. Errors:
// UNAUTHENTICATED; INVALID_ARGUMENT REQUEST_INVALID; NOT_FOUND
// CART_ITEM_NOT_FOUND; UNAVAILABLE CATALOG_UNAVAILABLE.
func (s *Service) UpdateCartItem(ctx context.Context, caller *auth.Principal, productID string, quantity int64) (*PricedCart, error) {
	customer, err := customerOf(caller)
	if err != nil {
		return nil, err
	}
	if err := validateLine(productID, quantity); err != nil {
		return nil, err
	}
	c, err := s.store.UpdateCart(ctx, customer, func(c *Cart) error {
		i := slices.IndexFunc(c.Lines, func(l CartLine) bool { return l.ProductID == productID })
		if i < 0 {
			return errs.New(errs.NotFound, ReasonCartItemNotFound, "the product is not in the cart",
				errs.WithResource("product", productID, ""))
		}
		c.Lines[i].Quantity = quantity
		c.UpdateTime = s.now()
		return nil
	})
	if err != nil {
		return nil, cartError(err)
	}
	return s.priceCart(ctx, c, nil)
}

// RemoveCartItem removes a product's line (a no-op when it is not in the
// cart). Errors: UNAUTHENTICATED; INVALID_ARGUMENT REQUEST_INVALID;
// UNAVAILABLE CATALOG_UNAVAILABLE.
func (s *Service) RemoveCartItem(ctx context.Context, caller *auth.Principal, productID string) (*PricedCart, error) {
	customer, err := customerOf(caller)
	if err != nil {
		return nil, err
	}
	if productID == "" || len(productID) > maxID {
		return nil, invalidField(ReasonRequestInvalid, "product_id", "must be 1 to 64 characters")
	}
	c, err := s.store.UpdateCart(ctx, customer, func(c *Cart) error {
		c.Lines = slices.DeleteFunc(c.Lines, func(l CartLine) bool { return l.ProductID == productID })
		c.UpdateTime = s.now()
		return nil
	})
	if err != nil {
		return nil, cartError(err)
	}
	return s.priceCart(ctx, c, nil)
}

// ClearCart empties the caller's cart. Errors: UNAUTHENTICATED.
func (s *Service) ClearCart(ctx context.Context, caller *auth.Principal) (*PricedCart, error) {
	customer, err := customerOf(caller)
	if err != nil {
		return nil, err
	}
	c, err := s.store.UpdateCart(ctx, customer, func(c *Cart) error {
		c.Lines = nil
		c.UpdateTime = s.now()
		return nil
	})
	if err != nil {
		return nil, cartError(err)
	}
	return s.priceCart(ctx, c, nil)
}

// priceCart prices c with known products, reading the others from the
// catalog in one call. The subtotal adds the available lines; it is left
// zero when they are priced in several currencies.
func (s *Service) priceCart(ctx context.Context, c *Cart, known map[string]Product) (*PricedCart, error) {
	var missing []string
	for _, l := range c.Lines {
		if _, ok := known[l.ProductID]; !ok {
			missing = append(missing, l.ProductID)
		}
	}
	byID := known
	if len(missing) > 0 {
		more, err := s.products(ctx, missing)
		if err != nil {
			return nil, err
		}
		byID = make(map[string]Product, len(known)+len(more))
		for id, p := range known {
			byID[id] = p
		}
		for id, p := range more {
			byID[id] = p
		}
	}
	out := &PricedCart{CustomerID: c.CustomerID, UpdateTime: c.UpdateTime, Lines: make([]PricedLine, 0, len(c.Lines))}
	mixed := false
	for _, l := range c.Lines {
		pl := PricedLine{ProductID: l.ProductID, Quantity: l.Quantity}
		if p, ok := byID[l.ProductID]; ok && p.Active {
			pl.Available, pl.SKU, pl.Title, pl.UnitPrice = true, p.SKU, p.Title, p.Price
			if line, err := p.Price.mul(l.Quantity); err == nil && !mixed {
				if out.Subtotal.Currency == "" {
					out.Subtotal = Money{Currency: line.Currency}
				}
				if sum, err := out.Subtotal.add(line); err == nil {
					out.Subtotal = sum
				} else {
					mixed = true
				}
			}
		}
		out.Lines = append(out.Lines, pl)
	}
	if mixed {
		out.Subtotal = Money{}
	}
	return out, nil
}

func validateLine(productID string, quantity int64) error {
	switch {
	case productID == "" || len(productID) > maxID:
		return invalidField(ReasonRequestInvalid, "product_id", "must be 1 to 64 characters")
	case quantity < 1 || quantity > maxQuantity:
		return invalidField(ReasonRequestInvalid, "quantity", "must be 1 to 1000")
	}
	return nil
}

func cartError(err error) error {
	var e *errs.Error
	if errors.As(err, &e) {
		return err
	}
	return storeError(err, "updating cart")
}

func appendUnique(ids []string, id string) []string {
	if slices.Contains(ids, id) {
		return ids
	}
	return append(ids, id)
}
