// Package standalone holds what the examples' programs share, so that each
// main.go shows only what is its own: the service a server registers, the
// commands a client calls.
//
// A server program is a Server value: its name, its default address and a
// function that registers its services on a grpcx.Server. Server.Run does
// the rest (flags, logger, listener, graceful stop) and Server.Main turns
// signals into its context and its error into the exit code.
//
// A client program parses its command line and connects with Client.Dial
// (the -addr and -timeout flags every client has, then a command; a
// connection built by grpcx.NewClient), reports a failed call as a
// CallError, and hands its run to Main.
package standalone
