// Package standalonetest runs the examples' programs in tests, through
// their run functions: a server's in the background until it prints
// "listening on ADDR" (Start), a client's over a table of command lines
// (RunCases).
package standalonetest
