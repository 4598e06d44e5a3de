// Command server runs the calculator service on a Bazaar grpcx
// server until it receives SIGINT or SIGTERM, then drains gracefully.
//
// Usage:
//
//	server [-addr 127.0.0.1:50052]
//
// Once listening it prints "listening on ADDR" (the real port when -addr
// ends in :0), then logs failed calls. Try it with the client program next
// to it, or with grpcurl (reflection is on):
//
//	grpcurl -plaintext -d '{"a":{"int":7},"b":{"int":2}}' 127.0.0.1:50052 bazaar.examples.calculator.v1.CalculatorService/Divide
package main

import (
	"github.com/bazaarhq/bazaar/examples/calculator"
	"github.com/bazaarhq/bazaar/examples/internal/standalone"
	calculatorv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/calculator/v1"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// server is this program: the calculator registered on a grpcx server named
// "calculator", listening on -addr (127.0.0.1:50052 by default). server.Run
// builds the server with a text logger at Info, calls Register, listens,
// prints "listening on ADDR" and serves until its context ends.
var server = standalone.Server{
	Name:        "calculator",
	DefaultAddr: "127.0.0.1:50052",
	Register: func(srv *grpcx.Server) {
		calculatorv1.RegisterCalculatorServiceServer(srv, calculator.NewCalculator())
	},
}

// main only turns signals into a context and an error into the exit code;
// server.Run does the work, so tests can call it with their own context
// and writer.
func main() {
	server.Main()
}
