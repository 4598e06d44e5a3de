package main

import (
	calculatorv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/calculator/v1"
	helloworldv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"

	"github.com/bazaarhq/bazaar/examples/calculator"
	"github.com/bazaarhq/bazaar/examples/helloworld"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// service is one gRPC server of the process: its name (for flags, logs and
// the listener table) and how to put its API on a server. Each issue that
// builds a service adds it here; its position fixes its port (base-port+i),
// so new services go at the end.
type service struct {
	name     string
	register func(srv *grpcx.Server, deps serviceDeps) error
}

// serviceDeps is what the process hands every service.
type serviceDeps struct {
	dataDir string
}

var services = []service{
	{name: "helloworld", register: func(srv *grpcx.Server, _ serviceDeps) error {
		helloworldv1.RegisterGreeterServiceServer(srv, helloworld.NewGreeter())
		return nil
	}},
	{name: "calculator", register: func(srv *grpcx.Server, _ serviceDeps) error {
		calculatorv1.RegisterCalculatorServiceServer(srv, calculator.NewCalculator())
		return nil
	}},
}
