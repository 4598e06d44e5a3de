package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// sqlitePath extracts the file path from the part of a sqlite URL after
// "sqlite:": "//abs/or/rel/path" ("sqlite:///abs" is absolute,
// "sqlite://rel" relative).
func sqlitePath(rest string) (string, error) {
	path, ok := strings.CutPrefix(rest, "//")
	switch {
	case !ok:
		return "", fmt.Errorf("sqlite URL %q: want sqlite:///abs/path.db or sqlite://rel/path.db (in-memory databases are not supported; use a temp file)", "sqlite:"+rest)
	case path == "" || strings.HasSuffix(path, "/"):
		return "", fmt.Errorf("sqlite URL %q: missing file name", "sqlite:"+rest)
	case strings.ContainsAny(path, "?#"):
		return "", fmt.Errorf("sqlite URL %q: query parameters are not supported; configure with Options", "sqlite:"+rest)
	}
	return path, nil
}

// sqliteDSN builds a modernc.org/sqlite "file:" URI. The PRAGMAs are DSN
// parameters, not statements run after Open, because database/sql opens
// connections lazily and replaces them: only the DSN reaches every one.
func sqliteDSN(absPath string, readOnly bool, cfg *config) string {
	q := url.Values{}
	// busy_timeout first, so that the PRAGMAs after it wait for locks too.
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(cfg.busyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "foreign_keys(1)")
	// Times are written as "2006-01-02 15:04:05.999999999-07:00", which
	// SQLite's date functions understand and which sorts correctly as text
	// for values in one zone (this package writes UTC).
	q.Set("_time_format", "sqlite")
	if readOnly {
		// mode=ro makes SQLite itself refuse writes; journal_mode is a
		// property of the file, already set to WAL by the writer.
		q.Set("mode", "ro")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		// BEGIN IMMEDIATE takes the write lock up front, so a transaction
		// waits (busy_timeout) at its start instead of failing with BUSY
		// when it first writes, after doing work.
		q.Set("_txlock", "immediate")
	}
	p := filepath.ToSlash(absPath)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows drive letters: file:///C:/...
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}
	return u.String()
}

func openSQLite(ctx context.Context, path string, cfg *config) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqldb: open sqlite: %w", err)
	}
	writer, err := sql.Open("sqlite", sqliteDSN(abs, false, cfg))
	if err != nil {
		return nil, fmt.Errorf("sqldb: open sqlite writer: %w", err)
	}
	// One writer: SQLite allows one write transaction at a time anyway, and
	// queueing in database/sql (which honours ctx) beats spinning on BUSY.
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	// Connect the writer first: it creates the file and switches it to WAL,
	// which the read-only connections cannot do.
	if err := writer.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("sqldb: open sqlite %s: %w", abs, err), writer.Close())
	}

	reader, err := sql.Open("sqlite", sqliteDSN(abs, true, cfg))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("sqldb: open sqlite reader: %w", err), writer.Close())
	}
	reader.SetMaxOpenConns(cfg.maxConns)
	reader.SetMaxIdleConns(cfg.maxConns)
	if err := reader.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("sqldb: open sqlite reader %s: %w", abs, err), reader.Close(), writer.Close())
	}
	return newDB(SQLite, writer, reader, cfg), nil
}
