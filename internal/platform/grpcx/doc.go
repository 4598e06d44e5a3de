// Package grpcx builds Bazaar's gRPC servers and clients with the hardened
// defaults and interceptor chains every service shares.
//
// A server (NewServer) gets:
//   - transport limits from RELIABILITY.md (Limits): concurrent streams,
//     message and header sizes, connection timeout, keepalive enforcement
//     and connection age;
//   - one interceptor chain, identical for unary and streaming calls, outer
//     to inner: panic recovery, request id, Prometheus metrics, access log,
//     error mapping (errs.ToStatus), authorization from the proto policy
//     option, caller-supplied interceptors (rate limits), protovalidate
//     validation; OpenTelemetry runs as a stats handler around it all;
//   - grpc.health.v1 per registered service, reflection and channelz;
//   - a refusal to start while any registered method lacks an access policy;
//   - graceful shutdown: NOT_SERVING first, long-lived streams told to
//     reconnect, a bounded drain, then a hard stop.
//
// A client (NewClient) gets a service config with retries for UNAVAILABLE
// and retry throttling, round-robin balancing, keepalive, a default
// deadline, a circuit breaker per target and request-id propagation.
package grpcx
