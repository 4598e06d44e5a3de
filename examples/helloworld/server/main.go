// Command server runs the helloworld Greeter service on a Bazaar grpcx
// server until it receives SIGINT or SIGTERM, then drains gracefully.
//
// Usage:
//
//	server [-addr 127.0.0.1:50051]
//
// Once listening it prints "listening on ADDR" (the real port when -addr
// ends in :0), then logs failed calls. Try it with the client program next
// to it, or with grpcurl (reflection is on):
//
//	grpcurl -plaintext -d '{"name":"Ada"}' 127.0.0.1:50051 bazaar.examples.helloworld.v1.GreeterService/SayHello
package main

import (
	"github.com/bazaarhq/bazaar/examples/helloworld"
	"github.com/bazaarhq/bazaar/examples/internal/standalone"
	helloworldv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// server is this program: the Greeter registered on a grpcx server named
// "helloworld", listening on -addr (127.0.0.1:50051 by default). server.Run
// builds the server with a text logger at Info, calls Register, listens,
// prints "listening on ADDR" and serves until its context ends.
var server = standalone.Server{
	Name:        "helloworld",
	DefaultAddr: "127.0.0.1:50051",
	Register: func(srv *grpcx.Server) {
		helloworldv1.RegisterGreeterServiceServer(srv, helloworld.NewGreeter())
	},
}

// main only turns signals into a context and an error into the exit code;
// server.Run does the work, so tests can call it with their own context
// and writer.
func main() {
	server.Main()
}
