package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/bazaarhq/bazaar/internal/catalog"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// productColumns are the columns scanProduct reads, of table alias p.
const productColumns = `p.id, p.sku, p.title, p.description, p.brand, p.category, p.price_currency, p.price_units,
p.price_nanos, p.attributes, p.images, p.kind, p.status, p.partner_type_url, p.partner_value,
p.create_time, p.update_time, p.version`

type rowScanner interface {
	Scan(dest ...any) error
}

func scanProduct(row rowScanner) (*catalog.Product, error) {
	var (
		p                   catalog.Product
		attrs, images, kind string
	)
	err := row.Scan(&p.ID, &p.SKU, &p.Title, &p.Description, &p.Brand, &p.Category, &p.Price.Currency, &p.Price.Units,
		&p.Price.Nanos, &attrs, &images, &kind, &p.Status, &p.PartnerMetadata.TypeURL, &p.PartnerMetadata.Value,
		&p.CreateTime, &p.UpdateTime, &p.Version)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(attrs), &p.Attributes); err != nil {
		return nil, fmt.Errorf("product %s attributes: %w", p.ID, err)
	}
	if err := json.Unmarshal([]byte(images), &p.Images); err != nil {
		return nil, fmt.Errorf("product %s images: %w", p.ID, err)
	}
	var k kindJSON
	if err := json.Unmarshal([]byte(kind), &k); err != nil {
		return nil, fmt.Errorf("product %s kind: %w", p.ID, err)
	}
	p.Kind = k.kind()
	if len(p.PartnerMetadata.Value) == 0 {
		p.PartnerMetadata.Value = nil
	}
	p.CreateTime, p.UpdateTime = p.CreateTime.UTC(), p.UpdateTime.UTC()
	return &p, nil
}

func scanProducts(rows *sql.Rows) ([]*catalog.Product, error) {
	defer func() { _ = rows.Close() }()
	out := []*catalog.Product{}
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// kindJSON is how a product's kind is stored: the stable, explicit form of
// catalog.Kind.
type kindJSON struct {
	Type              catalog.KindType `json:"type"`
	WeightGrams       int32            `json:"weight_grams,omitempty"`
	LengthMM          int32            `json:"length_mm,omitempty"`
	WidthMM           int32            `json:"width_mm,omitempty"`
	HeightMM          int32            `json:"height_mm,omitempty"`
	DownloadSizeBytes int64            `json:"download_size_bytes,omitempty"`
	MinAmount         *moneyJSON       `json:"min_amount,omitempty"`
	MaxAmount         *moneyJSON       `json:"max_amount,omitempty"`
}

type moneyJSON struct {
	Currency string `json:"currency"`
	Units    int64  `json:"units"`
	Nanos    int32  `json:"nanos"`
}

func kindRow(k catalog.Kind) kindJSON {
	out := kindJSON{
		Type: k.Type, WeightGrams: k.WeightGrams, LengthMM: k.LengthMM, WidthMM: k.WidthMM, HeightMM: k.HeightMM,
		DownloadSizeBytes: k.DownloadSizeBytes,
	}
	if k.Type == catalog.KindGiftCard {
		out.MinAmount = &moneyJSON{k.MinAmount.Currency, k.MinAmount.Units, k.MinAmount.Nanos}
		out.MaxAmount = &moneyJSON{k.MaxAmount.Currency, k.MaxAmount.Units, k.MaxAmount.Nanos}
	}
	return out
}

func (k kindJSON) kind() catalog.Kind {
	out := catalog.Kind{
		Type: k.Type, WeightGrams: k.WeightGrams, LengthMM: k.LengthMM, WidthMM: k.WidthMM, HeightMM: k.HeightMM,
		DownloadSizeBytes: k.DownloadSizeBytes,
	}
	if k.MinAmount != nil {
		out.MinAmount = catalog.Money{Currency: k.MinAmount.Currency, Units: k.MinAmount.Units, Nanos: k.MinAmount.Nanos}
	}
	if k.MaxAmount != nil {
		out.MaxAmount = catalog.Money{Currency: k.MaxAmount.Currency, Units: k.MaxAmount.Units, Nanos: k.MaxAmount.Nanos}
	}
	return out
}

// productValues returns the JSON columns of p.
func productValues(p *catalog.Product) (attrs, images, kind string, err error) {
	a := p.Attributes
	if a == nil {
		a = map[string]string{}
	}
	im := p.Images
	if im == nil {
		im = []catalog.ImageRef{}
	}
	ab, err := json.Marshal(a)
	if err != nil {
		return "", "", "", err
	}
	ib, err := json.Marshal(im)
	if err != nil {
		return "", "", "", err
	}
	kb, err := json.Marshal(kindRow(p.Kind))
	if err != nil {
		return "", "", "", err
	}
	return string(ab), string(ib), string(kb), nil
}

func partnerValue(p *catalog.Product) []byte {
	if p.PartnerMetadata.Value == nil {
		return []byte{}
	}
	return p.PartnerMetadata.Value
}

// CreateProduct implements catalog.ProductStore.
func (s *Store) CreateProduct(ctx context.Context, p *catalog.Product, req catalog.CreateRequest, events ...catalog.Event) error {
	attrs, images, kind, err := productValues(p)
	if err != nil {
		return fmt.Errorf("store: create product: %w", err)
	}
	err = s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO products (id, sku, title, description, brand, category, price_currency,
			price_units, price_nanos, attributes, images, kind, status, partner_type_url, partner_value, create_time,
			update_time, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.SKU, p.Title, p.Description, p.Brand, p.Category, p.Price.Currency, p.Price.Units, p.Price.Nanos,
			attrs, images, kind, int(p.Status), p.PartnerMetadata.TypeURL, partnerValue(p), p.CreateTime.UTC(),
			p.UpdateTime.UTC(), p.Version)
		if sqldb.IsUniqueViolation(err) {
			return catalog.ErrDuplicate
		}
		if err != nil {
			return err
		}
		if err := insertAttributes(ctx, tx, p.ID, p.Attributes); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO create_requests (request_id, fingerprint, product_id) VALUES (?, ?, ?)`,
			req.ID, req.Fingerprint, p.ID)
		if sqldb.IsUniqueViolation(err) {
			return catalog.ErrDuplicate
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO stocks (sku, product_id, available, reserved, sold) VALUES (?, ?, 0, 0, 0)`, p.SKU, p.ID); err != nil {
			return err
		}
		return appendEvents(ctx, tx, events)
	})
	if errors.Is(err, catalog.ErrDuplicate) {
		return err
	}
	if err != nil {
		return fmt.Errorf("store: create product: %w", err)
	}
	return nil
}

func insertAttributes(ctx context.Context, tx *sqldb.Tx, productID string, attrs map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO product_attributes (product_id, key, value) VALUES (?, ?, ?)`,
			productID, k, attrs[k]); err != nil {
			return err
		}
	}
	return nil
}

// ProductByRequest implements catalog.ProductStore.
func (s *Store) ProductByRequest(ctx context.Context, requestID string) (*catalog.Product, catalog.CreateRequest, error) {
	req := catalog.CreateRequest{ID: requestID}
	var productID string
	err := s.db.QueryRowContext(ctx, `SELECT fingerprint, product_id FROM create_requests WHERE request_id = ?`, requestID).
		Scan(&req.Fingerprint, &productID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, req, catalog.ErrNotFound
	case err != nil:
		return nil, req, fmt.Errorf("store: read create request: %w", err)
	}
	p, err := s.Product(ctx, productID)
	if err != nil {
		return nil, req, err
	}
	return p, req, nil
}

// Product implements catalog.ProductStore.
func (s *Store) Product(ctx context.Context, id string) (*catalog.Product, error) {
	return s.oneProduct(ctx, `SELECT `+productColumns+` FROM products p WHERE p.id = ?`, id)
}

func (s *Store) oneProduct(ctx context.Context, query string, arg any) (*catalog.Product, error) {
	p, err := scanProduct(s.db.QueryRowContext(ctx, query, arg))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, catalog.ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("store: read product: %w", err)
	}
	return p, nil
}

// Products implements catalog.ProductStore.
func (s *Store) Products(ctx context.Context, ids []string) ([]*catalog.Product, error) {
	if len(ids) == 0 {
		return []*catalog.Product{}, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+productColumns+` FROM products p WHERE p.id IN (`+placeholders(len(ids))+`)`, anys(ids)...)
	if err != nil {
		return nil, fmt.Errorf("store: read products: %w", err)
	}
	ps, err := scanProducts(rows)
	if err != nil {
		return nil, fmt.Errorf("store: read products: %w", err)
	}
	return ps, nil
}

// UpdateProduct implements catalog.ProductStore.
func (s *Store) UpdateProduct(ctx context.Context, id string, fn func(p *catalog.Product) ([]catalog.Event, error)) (*catalog.Product, error) {
	var (
		out   *catalog.Product
		fnErr error
	)
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		fnErr = nil
		p, err := scanProduct(tx.QueryRowContext(ctx, `SELECT `+productColumns+` FROM products p WHERE p.id = ?`+forUpdate(tx.Dialect(), ""), id))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return catalog.ErrNotFound
		case err != nil:
			return err
		}
		events, err := fn(p)
		if err != nil {
			fnErr = err
			return err
		}
		p.ID = id
		attrs, images, kind, err := productValues(p)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE products SET title = ?, description = ?, brand = ?, category = ?, price_currency = ?,
			price_units = ?, price_nanos = ?, attributes = ?, images = ?, kind = ?, status = ?, partner_type_url = ?,
			partner_value = ?, update_time = ?, version = ? WHERE id = ?`,
			p.Title, p.Description, p.Brand, p.Category, p.Price.Currency, p.Price.Units, p.Price.Nanos, attrs, images, kind,
			int(p.Status), p.PartnerMetadata.TypeURL, partnerValue(p), p.UpdateTime.UTC(), p.Version, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM product_attributes WHERE product_id = ?`, id); err != nil {
			return err
		}
		if err := insertAttributes(ctx, tx, id, p.Attributes); err != nil {
			return err
		}
		if err := appendEvents(ctx, tx, events); err != nil {
			return err
		}
		out = p
		return nil
	})
	switch {
	case fnErr != nil:
		return nil, fnErr
	case errors.Is(err, catalog.ErrNotFound):
		return nil, catalog.ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("store: update product: %w", err)
	}
	return out, nil
}

// ListProducts implements catalog.ProductStore.
func (s *Store) ListProducts(ctx context.Context, q catalog.ProductQuery) ([]*catalog.Product, error) {
	query, args, err := listQuery(productColumns, q)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list products: %w", err)
	}
	ps, err := scanProducts(rows)
	if err != nil {
		return nil, fmt.Errorf("store: list products: %w", err)
	}
	return ps, nil
}

// ListProductVersions implements catalog.ProductStore: ListProducts' page
// as ids and versions, without decoding any product.
func (s *Store) ListProductVersions(ctx context.Context, q catalog.ProductQuery) ([]catalog.ProductVersion, error) {
	query, args, err := listQuery("p.id, p.version", q)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list product ids: %w", err)
	}
	defer func() { _ = rows.Close() }()
	ids := make([]catalog.ProductVersion, 0, q.Limit)
	for rows.Next() {
		var v catalog.ProductVersion
		if err := rows.Scan(&v.ID, &v.Version); err != nil {
			return nil, fmt.Errorf("store: list product ids: %w", err)
		}
		ids = append(ids, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list product ids: %w", err)
	}
	return ids, nil
}

// listQuery builds the query of a ProductQuery page selecting columns.
func listQuery(columns string, q catalog.ProductQuery) (string, []any, error) {
	if q.Limit <= 0 {
		return "", nil, fmt.Errorf("store: list products: limit %d: %w", q.Limit, sqldb.ErrInvalidArgument)
	}
	where := []string{"p.status = ?"}
	args := []any{int(q.Status)}
	if q.Category != "" {
		// Categories are [a-z0-9-] segments, so the prefix has no LIKE
		// wildcard to escape.
		where = append(where, "(p.category = ? OR p.category LIKE ?)")
		args = append(args, q.Category, q.Category+"/%")
	}
	if m := q.MinPrice; m != nil {
		where = append(where, "p.price_currency = ? AND (p.price_units > ? OR (p.price_units = ? AND p.price_nanos >= ?))")
		args = append(args, m.Currency, m.Units, m.Units, m.Nanos)
	}
	if m := q.MaxPrice; m != nil {
		where = append(where, "p.price_currency = ? AND (p.price_units < ? OR (p.price_units = ? AND p.price_nanos <= ?))")
		args = append(args, m.Currency, m.Units, m.Units, m.Nanos)
	}
	for _, k := range slices.Sorted(maps.Keys(q.Attributes)) {
		where = append(where, "EXISTS (SELECT 1 FROM product_attributes a WHERE a.product_id = p.id AND a.key = ? AND a.value = ?)")
		args = append(args, k, q.Attributes[k])
	}
	var order string
	switch q.Order {
	case catalog.OrderPriceAsc:
		order = "p.price_units, p.price_nanos, p.id"
		if c := q.After; c != nil {
			where = append(where, `(p.price_units > ? OR (p.price_units = ? AND p.price_nanos > ?)
				OR (p.price_units = ? AND p.price_nanos = ? AND p.id > ?))`)
			args = append(args, c.PriceUnits, c.PriceUnits, c.PriceNanos, c.PriceUnits, c.PriceNanos, c.ID)
		}
	case catalog.OrderPriceDesc:
		order = "p.price_units DESC, p.price_nanos DESC, p.id DESC"
		if c := q.After; c != nil {
			where = append(where, `(p.price_units < ? OR (p.price_units = ? AND p.price_nanos < ?)
				OR (p.price_units = ? AND p.price_nanos = ? AND p.id < ?))`)
			args = append(args, c.PriceUnits, c.PriceUnits, c.PriceNanos, c.PriceUnits, c.PriceNanos, c.ID)
		}
	default:
		order = "p.update_time DESC, p.id DESC"
		if c := q.After; c != nil {
			t := c.UpdateTime.UTC()
			where = append(where, "(p.update_time < ? OR (p.update_time = ? AND p.id < ?))")
			args = append(args, t, t, c.ID)
		}
	}
	args = append(args, q.Limit)
	return `SELECT ` + columns + ` FROM products p WHERE ` + strings.Join(where, " AND ") + ` ORDER BY ` + order + ` LIMIT ?`, args, nil
}

// SearchProducts implements catalog.ProductStore.
func (s *Store) SearchProducts(ctx context.Context, words []string, offset, limit int) ([]*catalog.Product, error) {
	if limit <= 0 || offset < 0 || len(words) == 0 {
		return nil, fmt.Errorf("store: search products: %w", sqldb.ErrInvalidArgument)
	}
	var (
		query string
		arg   string
	)
	if s.db.Dialect() == sqldb.Postgres {
		// Each word becomes a quoted lexeme: the words are plain text,
		// never tsquery syntax.
		lexemes := make([]string, len(words))
		for i, w := range words {
			lexemes[i] = "'" + strings.ReplaceAll(w, "'", "''") + "'"
		}
		arg = strings.Join(lexemes, " & ")
		query = `SELECT ` + productColumns + ` FROM products p, to_tsquery('simple', ?) q
			WHERE p.status = ? AND p.search @@ q ORDER BY ts_rank(p.search, q) DESC, p.id LIMIT ? OFFSET ?`
	} else {
		// Each word becomes an FTS5 string (double quotes doubled), so
		// none is read as an operator or column filter.
		phrases := make([]string, len(words))
		for i, w := range words {
			phrases[i] = `"` + strings.ReplaceAll(w, `"`, `""`) + `"`
		}
		arg = strings.Join(phrases, " AND ")
		query = `SELECT ` + productColumns + ` FROM products_fts f JOIN products p ON p.rowid = f.rowid
			WHERE products_fts MATCH ? AND p.status = ? ORDER BY bm25(products_fts, 10.0, 1.0), p.id LIMIT ? OFFSET ?`
	}
	rows, err := s.db.QueryContext(ctx, query, arg, int(catalog.StatusActive), limit, offset)
	if err != nil {
		return nil, fmt.Errorf("store: search products: %w", err)
	}
	ps, err := scanProducts(rows)
	if err != nil {
		return nil, fmt.Errorf("store: search products: %w", err)
	}
	return ps, nil
}

// ImageIDs implements catalog.ProductStore.
func (s *Store) ImageIDs(ctx context.Context) (map[string]struct{}, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT images FROM products WHERE images <> '[]'`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	ids := make(map[string]struct{})
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		var imgs []catalog.ImageRef
		if err := json.Unmarshal([]byte(raw), &imgs); err != nil {
			return nil, fmt.Errorf("product images: %w", err)
		}
		for _, img := range imgs {
			ids[img.ID] = struct{}{}
		}
	}
	return ids, rows.Err()
}
