package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/bazaarhq/bazaar/internal/catalog"
	"github.com/bazaarhq/bazaar/internal/catalog/images"
	"github.com/bazaarhq/bazaar/internal/catalog/seed"
	catalogstore "github.com/bazaarhq/bazaar/internal/catalog/store"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// seedCatalog loads the sample catalog into the catalog's database and
// image store, the ones `bazaar up` uses with the same data dir. It is
// idempotent: a second run adds nothing.
func seedCatalog(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) (err error) {
	fs := flag.NewFlagSet("bazaar seed", flag.ContinueOnError)
	fs.SetOutput(stdout)
	dataDir := fs.String("data-dir", envOr(getenv, "DATA_DIR", "./bazaar-data"), "data directory (env BAZAAR_DATA_DIR)")
	dbURL := fs.String("catalog-database-url", envOr(getenv, "CATALOG_DATABASE_URL", ""), "catalog database; default DATA_DIR/catalog.db (env BAZAAR_CATALOG_DATABASE_URL)")
	products := fs.Int("products", seed.DefaultProducts, "how many products")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bazaar seed takes no arguments, got %q", fs.Args())
	}
	// Seeding before the first `bazaar up` makes the data dir, as up would.
	if err := os.MkdirAll(*dataDir, 0o750); err != nil {
		return err
	}
	cfg := upConfig{DataDir: *dataDir, DatabaseURLs: map[string]string{"catalog": *dbURL}}
	url, err := databaseURL(cfg, "catalog")
	if err != nil {
		return err
	}
	st, err := catalogstore.Open(ctx, url, sqldb.WithSchema("catalog"))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, st.Close()) }()
	svc, err := catalog.New(st, catalog.Config{})
	if err != nil {
		return err
	}
	blobs, err := images.NewBlobStore(filepath.Join(*dataDir, "catalog-images"))
	if err != nil {
		return err
	}
	res, err := seed.Catalog(ctx, svc, seed.WithProducts(*products), seed.WithImages(blobs))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "catalog seeded: %d products in %d categories, %d units of stock, %d images added\n",
		res.Products, res.Categories, res.StockUnits, res.ImagesAdded)
	return nil
}
