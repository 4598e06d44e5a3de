package helloworld

import (
	"context"

	helloworldv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
)

// Greeter implements helloworldv1.GreeterServiceServer. It holds no state,
// so one value serves any number of concurrent calls.
type Greeter struct {
	// Embedded by value, as protoc-gen-go-grpc asks: methods added to the
	// service later answer UNIMPLEMENTED instead of breaking the build.
	helloworldv1.UnimplementedGreeterServiceServer
}

// The compiler checks here that Greeter implements the service.
var _ helloworldv1.GreeterServiceServer = (*Greeter)(nil)

// NewGreeter returns a Greeter ready to register.
func NewGreeter() *Greeter { return &Greeter{} }

// SayHello answers with a greeting for the requested name (unary RPC). The
// server's validation interceptor has already checked the name's length.
func (*Greeter) SayHello(_ context.Context, req *helloworldv1.SayHelloRequest) (*helloworldv1.SayHelloResponse, error) {
	return &helloworldv1.SayHelloResponse{Message: greeting(req.GetName())}, nil
}

// greeting is the one place the greeting text is built, so the unary and
// streaming calls say the same thing.
func greeting(name string) string { return "Hello, " + name + "!" }
