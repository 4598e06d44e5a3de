package sqldb

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// maxCachedStmts bounds each pool's statement cache. Queries built at run
// time (IN lists of varying length, optional filters) could otherwise grow
// it without end; past the bound, new queries simply run unprepared.
const maxCachedStmts = 256

// stmtCache keeps a pool's statements prepared, on SQLite, where parsing
// and planning a statement costs about as much as running a small one and
// the driver does not cache them (pgx on Postgres does, per connection, by
// itself). Statements are never evicted, so one handed out is never closed
// under its user.
//
// The writer pool has one connection, held by the transaction in progress:
// preparing on it from inside a transaction would wait for ever. A write
// query seen for the first time inside a transaction therefore runs
// unprepared and is prepared after that transaction ends (see
// [DB.InTx]); later transactions use the prepared statement on the same
// connection.
type stmtCache struct {
	pool *sql.DB

	mu      sync.RWMutex
	stmts   map[string]*sql.Stmt
	pending map[string]struct{} // writer: to prepare once the connection is free
}

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, stmts: map[string]*sql.Stmt{}, pending: map[string]struct{}{}}
}

// lookup returns query's prepared statement, or nil.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.stmts[query]
}

// get returns query's prepared statement, preparing it if there is room;
// nil when there is not or preparing failed (the caller then sends the
// query as it is, and sees the error there). Never call it for the writer
// pool from inside a transaction.
func (c *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	if st := c.lookup(query); st != nil {
		return st
	}
	c.mu.RLock()
	full := len(c.stmts) >= maxCachedStmts
	c.mu.RUnlock()
	if full {
		return nil
	}
	st, err := c.pool.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.stmts[query]; ok { // a concurrent caller won
		_ = st.Close()
		return prev
	}
	c.stmts[query] = st
	return st
}

// want notes query for preparation once the writer is free.
func (c *stmtCache) want(query string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.stmts)+len(c.pending) < maxCachedStmts {
		c.pending[query] = struct{}{}
	}
}

// preparePending prepares the queries noted by want. Call it with the
// writer's connection free (after a transaction ended).
func (c *stmtCache) preparePending(ctx context.Context) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.mu.Unlock()
		return
	}
	queries := make([]string, 0, len(c.pending))
	for q := range c.pending {
		queries = append(queries, q)
	}
	clear(c.pending)
	c.mu.Unlock()
	// The caller's context may be ending with its request; preparation is
	// for everyone's later transactions.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, q := range queries {
		c.get(ctx, q)
	}
}

// close closes every prepared statement.
func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		_ = st.Close()
	}
	clear(c.stmts)
}
