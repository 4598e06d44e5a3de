// Package calculator is the mastery path's tour of the four RPC types and of
// rich errors, on Bazaar's platform stack.
//
// Which concept each RPC demonstrates:
//
//   - Add, Subtract, Multiply, Divide: unary calls (module 3).
//   - Average: client streaming (module 4): the client sends numbers until
//     it closes its side, the server answers once. The server keeps a
//     running sum, not the numbers, and caps the stream's length.
//   - PrimeFactors: server streaming (module 4): one number in, its prime
//     factors out, in ascending order, one message each.
//   - RunningMax: bidirectional streaming (module 4): every number read is
//     answered at once with the largest seen so far.
//   - Errors (module 8): dividing by zero is INVALID_ARGUMENT with a
//     google.rpc.BadRequest field violation on "b"; an int64 result that
//     does not fit is OUT_OF_RANGE. Every error also carries a
//     google.rpc.ErrorInfo whose reason is one of the Reason constants, so
//     clients branch on the reason, never on the message. Malformed requests
//     (a decimal like "1e5", a missing operand) never reach the handlers:
//     the grpcx server's protovalidate interceptor rejects them with
//     INVALID_ARGUMENT and a field violation.
//
// The package keeps the arithmetic (Number, Add, Divide, Mean, PrimeFactors,
// …) apart from the gRPC transport (Calculator and its handlers, which only
// translate between protobuf and the domain), so the domain is tested, fuzzed
// and benchmarked without a server.
//
// Register the service on any grpc.ServiceRegistrar, normally a
// grpcx.Server:
//
//	calculatorv1.RegisterCalculatorServiceServer(srv, calculator.NewCalculator())
//
// The programs in server/ and client/ run it standalone.
package calculator
