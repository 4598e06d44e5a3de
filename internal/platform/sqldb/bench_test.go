package sqldb_test

import (
	"context"
	"testing"

	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb/sqldbtest"
)

func BenchmarkInTxAppendEvent(b *testing.B) {
	backends := []struct {
		name string
		get  func(b *testing.B) sqldbtest.Backend
	}{
		{"sqlite", func(*testing.B) sqldbtest.Backend { return sqldbtest.SQLite() }},
		{"postgres", func(b *testing.B) sqldbtest.Backend { return sqldbtest.Postgres(b) }},
	}
	payload := make([]byte, 256)
	for _, bk := range backends {
		b.Run(bk.name, func(b *testing.B) {
			db := openMigrated(b, bk.get(b))
			b.ReportAllocs()
			for b.Loop() {
				err := db.InTx(b.Context(), func(ctx context.Context, tx *sqldb.Tx) error {
					_, err := tx.AppendEvent(ctx, sqldb.Event{Topic: "bench.v1", AggregateID: "agg", Payload: payload})
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
