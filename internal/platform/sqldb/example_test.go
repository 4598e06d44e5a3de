package sqldb_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

func ExampleDB_InTx() {
	dir, err := os.MkdirTemp("", "sqldb-example")
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = os.RemoveAll(dir) }()

	ctx := context.Background()
	db, err := sqldb.Open(ctx, "sqlite://"+filepath.Join(dir, "catalog.db"), sqldb.WithSchema("catalog"))
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	// A service passes its own embedded migrations; nil applies only the outbox.
	if err := db.Migrate(ctx, nil); err != nil {
		log.Fatal(err)
	}

	// The state change and its event commit together, or not at all.
	err = db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		_, err := tx.AppendEvent(ctx, sqldb.Event{Topic: "catalog.product.created.v1", AggregateID: "sku-1"})
		return err
	})
	if err != nil {
		log.Fatal(err)
	}

	events, err := db.ReadEvents(ctx, 0, 100)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range events {
		fmt.Println(e.ID, e.Topic, e.AggregateID)
	}
	// Output:
	// 1 catalog.product.created.v1 sku-1
}
