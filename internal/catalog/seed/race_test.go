//go:build race

package seed_test

// raceEnabled reports whether the race detector is on. It slows the
// catalog's SQLite (modernc.org/sqlite, C translated to Go) about ninefold,
// so race runs seed a prefix of the sample catalog: the same code path,
// fewer products.
const raceEnabled = true
