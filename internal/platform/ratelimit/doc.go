// Package ratelimit keeps each caller of a Bazaar server within its budget
// of calls, so that one greedy or broken client cannot starve the others.
//
// Every caller has its own token bucket (golang.org/x/time/rate). A signed-in
// caller is keyed by its principal (auth.Principal.Key: "user:ID",
// "api_key:ID", "client:ID", "service:NAME"); an anonymous caller of a
// public method by its address ("ip:203.0.113.7"; an IPv6 caller by its /64,
// the block one subscriber usually holds, so that rotating addresses within
// it buys no fresh budget). Anonymous callers get a stricter rate.
//
// Each call takes as many tokens as its method costs, declared in the proto
// contract with the method option
//
//	option (bazaar.options.v1.rate_limit) = {cost: 10};
//
// (unset means 1). A call that finds too few tokens is refused with
// RESOURCE_EXHAUSTED carrying google.rpc.RetryInfo and QuotaFailure details
// and the grpc-retry-pushback-ms trailer, and takes nothing: the refusal
// does not push the caller's next success further away.
//
// Memory is bounded: the limiter tracks at most WithMaxKeys buckets and
// forgets the least recently used one when a new caller arrives. A forgotten
// caller comes back with a full bucket; that is the price of the bound, and
// it only matters when more distinct callers are active at once than the
// limiter tracks.
//
// The interceptors (Limiter.UnaryServerInterceptor,
// Limiter.StreamServerInterceptor) belong after authorization, which puts
// the principal in the context, and before validation, so that refused
// calls cost the server as little as possible. grpcx.WithUnaryInterceptors
// and grpcx.WithStreamInterceptors install them there.
package ratelimit
