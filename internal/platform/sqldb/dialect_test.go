package sqldb_test

import (
	"fmt"
	"testing"

	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

func TestDialectRebind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		query string
		want  string
	}{
		{"no placeholders", `SELECT 1`, `SELECT 1`},
		{"placeholders", `SELECT * FROM t WHERE a = ? AND b IN (?, ?)`, `SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)`},
		{"adjacent", `VALUES (?,?)`, `VALUES ($1,$2)`},
		{"ten and more", `?,?,?,?,?,?,?,?,?,?,?`, `$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11`},
		{"string literal", `SELECT '?', ?`, `SELECT '?', $1`},
		{"doubled quote in literal", `SELECT 'it''s ?', ?`, `SELECT 'it''s ?', $1`},
		{"E string with backslash quote", `SELECT E'\'?', ?`, `SELECT E'\'?', $1`},
		{"backslash in standard string", `SELECT '\', ?`, `SELECT '\', $1`},
		{"identifier ending in e is no E string", `SELECT name'x?'`, `SELECT name'x?'`},
		{"quoted identifier", `SELECT "what?" FROM t WHERE x = ?`, `SELECT "what?" FROM t WHERE x = $1`},
		{"line comment", "SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2"},
		{"line comment at end", `SELECT ? -- why?`, `SELECT $1 -- why?`},
		{"block comment", `SELECT /* ? */ ?`, `SELECT /* ? */ $1`},
		{"nested block comment", `SELECT /* a /* ? */ ? */ ?`, `SELECT /* a /* ? */ ? */ $1`},
		{"dollar quote", `SELECT $$ ? $$, ?`, `SELECT $$ ? $$, $1`},
		{"tagged dollar quote", `SELECT $fn$ ? $x$ ? $fn$, ?`, `SELECT $fn$ ? $x$ ? $fn$, $1`},
		{"dollar in identifier", `SELECT a$b, ?`, `SELECT a$b, $1`},
		{"unterminated literal", `SELECT ?, 'oops ?`, `SELECT $1, 'oops ?`},
		{"minus is not a comment", `SELECT ? - ?`, `SELECT $1 - $2`},
		{"slash is not a comment", `SELECT ? / ?`, `SELECT $1 / $2`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := sqldb.Postgres.Rebind(tc.query); got != tc.want {
				t.Errorf("Postgres.Rebind(%q) = %q, want %q", tc.query, got, tc.want)
			}
			if got := sqldb.SQLite.Rebind(tc.query); got != tc.query {
				t.Errorf("SQLite.Rebind(%q) = %q, want it unchanged", tc.query, got)
			}
		})
	}
}

func TestDialectString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    sqldb.Dialect
		want string
	}{{sqldb.SQLite, "sqlite"}, {sqldb.Postgres, "postgres"}, {sqldb.Dialect(0), "Dialect(0)"}}
	for _, tc := range tests {
		if got := tc.d.String(); got != tc.want {
			t.Errorf("Dialect(%d).String() = %q, want %q", int(tc.d), got, tc.want)
		}
	}
}

func BenchmarkRebind(b *testing.B) {
	const q = `UPDATE stock SET available = available - ?, reserved = reserved + ? WHERE sku = ? AND available >= ?`
	b.ReportAllocs()
	for b.Loop() {
		_ = sqldb.Postgres.Rebind(q)
	}
}

func ExampleDialect_Rebind() {
	const q = `SELECT id FROM products WHERE sku = ? AND name <> 'what?' LIMIT ?`
	fmt.Println(sqldb.SQLite.Rebind(q))
	fmt.Println(sqldb.Postgres.Rebind(q))
	// Output:
	// SELECT id FROM products WHERE sku = ? AND name <> 'what?' LIMIT ?
	// SELECT id FROM products WHERE sku = $1 AND name <> 'what?' LIMIT $2
}
