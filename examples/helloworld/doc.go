// Package helloworld is the mastery path's first gRPC service: a Greeter
// that shows the two simplest RPC shapes on Bazaar's platform stack.
//
//   - SayHello is a unary call (module 3): one request, one response. The
//     proto's protovalidate rules (a name of 1 to 100 characters) are
//     enforced by the grpcx server's interceptor chain before the handler
//     runs, so the handler trusts its input.
//   - SayHelloStream is server streaming (module 4): one request, a paced
//     stream of responses. It shows the one rule every streaming handler
//     must keep: block only in a select on the stream's context, so a client
//     that goes away (or a server that drains) ends the handler at once.
//
// Register it on any grpc.ServiceRegistrar, normally a grpcx.Server:
//
//	helloworldv1.RegisterGreeterServiceServer(srv, helloworld.NewGreeter())
//
// The programs in server/ and client/ run it standalone.
package helloworld
