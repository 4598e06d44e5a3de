package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// PushbackTrailer is the trailer that tells a gRPC client how many
// milliseconds to wait before retrying (gRFC A6). grpc-go clients honour it
// for the status codes their retry policy retries, instead of their own
// backoff; Bazaar's clients retry only UNAVAILABLE, so for them it is
// advice, like RetryInfo.
const PushbackTrailer = "grpc-retry-pushback-ms"

// UnaryServerInterceptor charges every call its method's cost (Cost) to
// its caller's bucket (Key). A call the bucket cannot pay for is refused
// before the handler runs: RESOURCE_EXHAUSTED with RetryInfo and a
// QuotaFailure whose subject is "principal" or "anonymous" (never the key,
// which for an anonymous caller behind a proxy would disclose internal
// addresses), plus the PushbackTrailer. Install it after authorization.
func (l *Limiter) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if wait, err := l.admit(ctx, info.FullMethod); err != nil {
			// The trailer is advice: without a transport stream (an
			// interceptor called directly) there is nowhere to put it.
			_ = grpc.SetTrailer(ctx, pushback(wait))
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streams. A stream
// is charged once, when it starts, whatever it then carries: the limiter
// bounds how often callers open streams, and a long-lived subscription
// costs no more than its opening call. Handlers that must bound the
// messages of a stream do so themselves.
func (l *Limiter) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if wait, err := l.admit(ss.Context(), info.FullMethod); err != nil {
			ss.SetTrailer(pushback(wait))
			return err
		}
		return handler(srv, ss)
	}
}

// admit charges the caller of ctx for one call of method. It returns nil,
// or how long to wait and the error to answer with.
func (l *Limiter) admit(ctx context.Context, method string) (time.Duration, error) {
	cost := l.Cost(method)
	if cost == 0 { // exempt
		return 0, nil
	}
	key, anonymous := l.Key(ctx)
	ok, wait := l.Allow(key, cost, anonymous)
	if ok {
		return 0, nil
	}
	if l.rejected != nil {
		l.rejected.WithLabelValues(method).Inc()
	}
	q, subject := l.principal, "principal"
	if anonymous {
		q, subject = l.anonymous, "anonymous"
	}
	description := fmt.Sprintf("rate limit exceeded: %s calls per second per caller, bursts of %d; this method costs %d",
		strconv.FormatFloat(q.perSecond, 'g', -1, 64), q.burst, cost)
	return wait, errs.RateLimited(subject, description, wait)
}

func pushback(wait time.Duration) metadata.MD {
	return metadata.Pairs(PushbackTrailer, strconv.FormatInt(wait.Milliseconds(), 10))
}
