package sqldb

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// MigrationsDir is the folder [DB.Migrate] looks for at the root of the file
// system it is given; it holds one sub-folder per dialect, named by
// [Dialect.String]:
//
//	migrations/sqlite/00001_create_products.sql
//	migrations/postgres/00001_create_products.sql
const MigrationsDir = "migrations"

const (
	// serviceVersionTable records the service's own migrations.
	serviceVersionTable = "goose_db_version"
	// platformVersionTable records this package's migrations (the outbox),
	// kept apart so their version numbers never clash with a service's.
	platformVersionTable = "sqldb_db_version"
)

// platformMigrations are the tables every service database gets (the outbox).
//
//go:embed migrations
var platformMigrations embed.FS

// Migrate brings the schema up to date: first this package's own migrations
// (the outbox table), then the service's migrations from fsys, each set
// tracked in its own goose version table (sqldb_db_version and
// goose_db_version). It applies only what is missing, so running it again is
// a no-op, and it uses goose's Provider API, which keeps no global state:
// several services can migrate in one process.
//
// fsys is typically the service store's embedded FS:
//
//	//go:embed migrations
//	var migrations embed.FS
//	err := db.Migrate(ctx, migrations)
//
// and must contain MigrationsDir/<dialect>/ (see [MigrationsDir]) holding
// goose SQL files (NNNNN_name.sql with "-- +goose Up" and "-- +goose Down"
// sections); an empty folder is allowed, a missing one is an error (a
// service ships both dialects). A nil fsys applies only this package's
// migrations.
//
// On Postgres the version tables live in the DB's schema (see [WithSchema]),
// so services sharing a database do not collide, and a session advisory lock
// keyed by schema makes concurrent Migrate calls (several replicas starting
// at once) take turns. On SQLite each service has its own file; two
// processes must not migrate the same file at the same time.
//
// Each migration runs in its own transaction (unless it is marked
// "-- +goose NO TRANSACTION"); on error, Migrate stops at the failing
// migration, which is rolled back, and returns an error naming it.
func (db *DB) Migrate(ctx context.Context, fsys fs.FS) error {
	if err := db.migrate(ctx, platformMigrations, platformVersionTable); err != nil {
		return err
	}
	if fsys == nil {
		return nil
	}
	return db.migrate(ctx, fsys, serviceVersionTable)
}

func (db *DB) migrate(ctx context.Context, fsys fs.FS, table string) error {
	dir := path.Join(MigrationsDir, db.dialect.String())
	if fi, err := fs.Stat(fsys, dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("sqldb: migrate %s: folder %s missing from the migrations FS", table, dir)
	}
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return fmt.Errorf("sqldb: migrate %s: %w", table, err)
	}
	opts := []goose.ProviderOption{
		goose.WithTableName(table),
		// Go migrations registered with goose's global registry belong to
		// whoever registered them, not to this service.
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(db.cfg.logger.With("component", "sqldb.migrate", "table", table)),
	}
	var dialect goose.Dialect
	switch db.dialect {
	case SQLite:
		dialect = goose.DialectSQLite3
	case Postgres:
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker(
			lock.WithLockID(advisoryKey("bazaar/sqldb/migrate/"+table, db.schema)),
			lock.WithLockTimeout(1, 300), // poll every second, up to 5 minutes
		)
		if err != nil {
			return fmt.Errorf("sqldb: migrate %s: %w", table, err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	// The provider is not closed: its Close would close db's writer pool.
	p, err := goose.NewProvider(dialect, db.writer, sub, opts...)
	if errors.Is(err, goose.ErrNoMigrations) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqldb: migrate %s: %w", table, err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqldb: migrate %s: %w", table, err)
	}
	return nil
}
