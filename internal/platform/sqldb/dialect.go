package sqldb

import (
	"strconv"
	"strings"
)

// Dialect names the SQL engine behind a [DB]. Stores branch on it only where
// the two engines genuinely differ (DDL lives in per-dialect migrations, so
// that is rare); placeholders are handled by [Dialect.Rebind].
type Dialect int

const (
	// SQLite is modernc.org/sqlite, the embedded default (one file per
	// service, WAL mode).
	SQLite Dialect = iota + 1
	// Postgres is PostgreSQL through pgx (one schema per service).
	Postgres
)

// String returns "sqlite" or "postgres", which is also the name of the
// dialect's migrations folder (see [DB.Migrate]).
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	default:
		return "Dialect(" + strconv.Itoa(int(d)) + ")"
	}
}

// Rebind rewrites the '?' placeholders of query into the dialect's native
// form, so a store can keep one query text for both engines: on Postgres the
// n-th '?' becomes $n; on SQLite the query is returned unchanged.
//
// A '?' is left alone inside single-quoted string literals (including
// E'...' literals with backslash escapes), double-quoted identifiers,
// dollar-quoted strings ($$...$$, $tag$...$tag$), -- line comments and
// /* nested */ block comments. Limitation: Postgres operators spelled with a
// question mark (the jsonb operators ?, ?| and ?&) cannot be written in a
// query that goes through Rebind; use the equivalent functions
// (jsonb_exists, jsonb_exists_any, jsonb_exists_all) instead. Do not mix '?'
// and '$n' placeholders in one query.
func (d Dialect) Rebind(query string) string {
	if d != Postgres || strings.IndexByte(query, '?') < 0 {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			i++
			continue
		}
		end := skipLexeme(query, i)
		b.WriteString(query[i:end])
		i = end
	}
	return b.String()
}

// skipLexeme returns the index just past the literal, quoted identifier or
// comment starting at query[i], or i+1 when query[i] starts none of them.
// An unterminated construct runs to the end of the query.
func skipLexeme(query string, i int) int {
	switch c := query[i]; {
	case c == '\'':
		return skipSingleQuoted(query, i, hasEscapePrefix(query, i))
	case c == '"':
		if j := strings.IndexByte(query[i+1:], '"'); j >= 0 {
			return i + 1 + j + 1 // a doubled "" is just two adjacent identifiers to us
		}
		return len(query)
	case c == '-' && strings.HasPrefix(query[i:], "--"):
		if j := strings.IndexByte(query[i:], '\n'); j >= 0 {
			return i + j + 1
		}
		return len(query)
	case c == '/' && strings.HasPrefix(query[i:], "/*"):
		return skipBlockComment(query, i)
	case c == '$':
		return skipDollarQuoted(query, i)
	default:
		return i + 1
	}
}

// hasEscapePrefix reports whether the quote at query[i] opens an E'...'
// string, in which a backslash escapes the next character.
func hasEscapePrefix(query string, i int) bool {
	if i == 0 || (query[i-1] != 'E' && query[i-1] != 'e') {
		return false
	}
	return i == 1 || !isIdentByte(query[i-2])
}

func skipSingleQuoted(query string, i int, backslash bool) int {
	for j := i + 1; j < len(query); j++ {
		switch query[j] {
		case '\\':
			if backslash {
				j++
			}
		case '\'':
			if j+1 < len(query) && query[j+1] == '\'' {
				j++ // '' is an escaped quote
				continue
			}
			return j + 1
		}
	}
	return len(query)
}

// skipBlockComment handles Postgres' nested /* /* */ */ comments.
func skipBlockComment(query string, i int) int {
	depth := 0
	for j := i; j+1 < len(query); {
		switch query[j : j+2] {
		case "/*":
			depth++
			j += 2
		case "*/":
			depth--
			j += 2
			if depth == 0 {
				return j
			}
		default:
			j++
		}
	}
	return len(query)
}

// skipDollarQuoted skips $tag$...$tag$. A '$' that does not open a dollar
// quote (a $1 parameter, or part of an identifier such as a$b) is one byte.
func skipDollarQuoted(query string, i int) int {
	if i > 0 && isIdentByte(query[i-1]) {
		return i + 1
	}
	j := i + 1
	for j < len(query) && (isLetter(query[j]) || query[j] == '_' || (j > i+1 && isDigit(query[j]))) {
		j++
	}
	if j >= len(query) || query[j] != '$' {
		return i + 1
	}
	tag := query[i : j+1]
	if k := strings.Index(query[j+1:], tag); k >= 0 {
		return j + 1 + k + len(tag)
	}
	return len(query)
}

func isLetter(c byte) bool    { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80 }
func isDigit(c byte) bool     { return c >= '0' && c <= '9' }
func isIdentByte(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' || c == '$' }
