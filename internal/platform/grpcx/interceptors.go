package grpcx

import (
	"context"
	"errors"
	"log/slog"
	"runtime/debug"
	"time"

	"buf.build/go/protovalidate"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/obs"
)

// chain builds the server's interceptors. Unary and stream chains have the
// same links in the same order (see the package documentation).
type chain struct {
	s         *Server
	validator protovalidate.Validator
	recover   recovery.Option
	ids       *obs.RequestIDs
}

func newChain(s *Server, v protovalidate.Validator) *chain {
	c := &chain{s: s, validator: v, ids: obs.NewRequestIDs()}
	c.recover = recovery.WithRecoveryHandlerContext(c.recovered)
	return c
}

func (c *chain) unary() []grpc.UnaryServerInterceptor {
	is := []grpc.UnaryServerInterceptor{
		// Outermost, so that a panic anywhere (even in an interceptor)
		// reaches the caller as INTERNAL and the server lives.
		recovery.UnaryServerInterceptor(c.recover),
		c.requestIDUnary,
	}
	if m := c.s.cfg.metrics; m != nil {
		is = append(is, m.Server.UnaryServerInterceptor())
	}
	is = append(is, c.logUnary, c.mapErrorsUnary, c.authorizeUnary)
	is = append(is, c.s.cfg.unary...)
	return append(is,
		c.validateUnary,
		// Innermost too, so a handler's panic is counted and logged with its
		// request id like any other failure.
		recovery.UnaryServerInterceptor(c.recover),
	)
}

func (c *chain) stream() []grpc.StreamServerInterceptor {
	is := []grpc.StreamServerInterceptor{
		recovery.StreamServerInterceptor(c.recover),
		c.requestIDStream,
	}
	if m := c.s.cfg.metrics; m != nil {
		is = append(is, m.Server.StreamServerInterceptor())
	}
	is = append(is, c.logStream, c.mapErrorsStream, c.authorizeStream)
	is = append(is, c.s.cfg.stream...)
	return append(is, c.validateStream, recovery.StreamServerInterceptor(c.recover))
}

// recovered turns a panic into INTERNAL: the stack goes to the log (never
// the request, which may hold secrets), the client learns nothing more.
func (c *chain) recovered(ctx context.Context, p any) error {
	method, _ := grpc.Method(ctx)
	c.s.cfg.log.ErrorContext(ctx, "panic in gRPC handler", "method", method, "panic", p, "stack", string(debug.Stack()))
	if m := c.s.cfg.metrics; m != nil {
		m.Panics.WithLabelValues(method).Inc()
	}
	return status.Error(codes.Internal, errs.InternalMessage)
}

// --- request id ---

func (c *chain) requestID(ctx context.Context) context.Context {
	// ValueFromIncomingContext reads one key without copying the metadata.
	if v := metadata.ValueFromIncomingContext(ctx, obs.RequestIDHeader); len(v) == 1 && obs.ValidRequestID(v[0]) {
		return obs.WithRequestID(ctx, v[0])
	}
	// A minted id reaches the caller only in a failed call's ErrorInfo
	// (mapError): a header on every success would cost every call.
	return obs.WithRequestID(ctx, c.ids.Next())
}

func (c *chain) requestIDUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	return h(c.requestID(ctx), req)
}

func (c *chain) requestIDStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	return h(srv, &contextStream{ServerStream: ss, ctx: c.requestID(ss.Context())})
}

// --- access log ---

func (c *chain) logCall(ctx context.Context, method string, start time.Time, err error) {
	code := status.Code(err)
	level := c.s.cfg.successLevel
	switch code {
	case codes.OK:
	case codes.Internal, codes.Unknown, codes.DataLoss, codes.Unimplemented:
		level = slog.LevelError
	case codes.Unavailable, codes.DeadlineExceeded:
		level = slog.LevelWarn
	default: // the caller's mistake or choice: worth a line, not an alert
		level = slog.LevelInfo
	}
	log := c.s.cfg.log
	if !log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("server", c.s.cfg.name),
		slog.String("method", method),
		slog.String("code", code.String()),
		slog.Duration("duration", time.Since(start)),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", status.Convert(err).Message()))
	}
	log.LogAttrs(ctx, level, "rpc", attrs...)
}

func (c *chain) logUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := h(ctx, req)
	c.logCall(ctx, info.FullMethod, start, err)
	return resp, err
}

func (c *chain) logStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	start := time.Now()
	err := h(srv, ss)
	c.logCall(ss.Context(), info.FullMethod, start, err)
	return err
}

// --- error mapping ---

// errDraining is the cancellation cause of long-lived streams at shutdown.
var errDraining = errors.New("server is shutting down")

// mapError turns a handler's error into the status the client gets
// (errs.ToStatus), logging the cause of internal errors with the trace and
// request ids, since the client only sees "internal error".
func (c *chain) mapError(ctx context.Context, method string, err error) error {
	if errors.Is(context.Cause(ctx), errDraining) {
		err = errs.New(errs.Unavailable, "SERVER_DRAINING", "the server is shutting down; reconnect")
	}
	st := errs.ToStatus(err)
	// A status that is already INTERNAL came from a downstream server or the
	// panic handler, which logged it; log only our own causes.
	if _, isStatus := status.FromError(err); !isStatus && st.Code() == codes.Internal {
		c.s.cfg.log.ErrorContext(ctx, "internal error", "method", method, "error", err.Error())
	}
	return errs.WithRequestID(st, obs.RequestID(ctx)).Err()
}

func (c *chain) mapErrorsUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	resp, err := h(ctx, req)
	if err != nil {
		return nil, c.mapError(ctx, info.FullMethod, err)
	}
	return resp, nil
}

// mapErrorsStream also tells long-lived streams about shutdown: the context
// of every stream the server sends on (server-streaming and bidirectional)
// is cancelled when draining starts, and the handler's answer becomes
// UNAVAILABLE SERVER_DRAINING, which clients retry elsewhere. Client-only
// streams (uploads) keep their context and get the grace period to finish.
func (c *chain) mapErrorsStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if info.IsServerStream {
		ctx, cancel := context.WithCancelCause(ss.Context())
		stop := context.AfterFunc(c.s.drainCtx, func() { cancel(errDraining) })
		defer func() {
			stop()
			cancel(nil)
		}()
		ss = &contextStream{ServerStream: ss, ctx: ctx}
	}
	if err := h(srv, ss); err != nil {
		return c.mapError(ss.Context(), info.FullMethod, err)
	}
	return nil
}

// --- authorization ---

func (c *chain) authorize(ctx context.Context, method string) (context.Context, error) {
	var p *auth.Policy
	if ps := c.s.policies.Load(); ps != nil {
		p = (*ps)[method]
	}
	if p == nil { // unreachable once serving; deny rather than guess
		return ctx, errs.New(errs.PermissionDenied, "NO_POLICY", "method has no access policy")
	}
	return c.s.cfg.authorizer.Authorize(ctx, method, p)
}

// authCause returns err, or the *errs.Error that ended the authorized
// context: an Authorizer bounds a call by its credential's expiry with
// context.WithDeadlineCause, so a stream outliving its token ends
// UNAUTHENTICATED rather than DEADLINE_EXCEEDED.
func authCause(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var e *errs.Error
	if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil && errors.As(cause, &e) {
		return e
	}
	return err
}

func (c *chain) authorizeUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	ctx, err := c.authorize(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	resp, err := h(ctx, req)
	return resp, authCause(ctx, err)
}

func (c *chain) authorizeStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	ctx, err := c.authorize(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	if ctx != ss.Context() {
		ss = &contextStream{ServerStream: ss, ctx: ctx}
	}
	return authCause(ctx, h(srv, ss))
}

// --- validation ---

func (c *chain) validate(m any) error {
	msg, ok := m.(proto.Message)
	if !ok {
		return nil
	}
	err := c.validator.Validate(msg)
	if err == nil {
		return nil
	}
	var ve *protovalidate.ValidationError
	if !errors.As(err, &ve) { // a rule that does not compile: our bug
		return errs.Wrap(err, errs.Internal, "VALIDATION_RULE", "")
	}
	vs := make([]errs.FieldViolation, 0, len(ve.Violations))
	for _, v := range ve.Violations {
		field := protovalidate.FieldPathString(v.Proto.GetField())
		if field == "" {
			field = string(msg.ProtoReflect().Descriptor().Name())
		}
		desc := v.Proto.GetMessage()
		if desc == "" {
			desc = v.Proto.GetRuleId()
		}
		vs = append(vs, errs.FieldViolation{Field: field, Description: desc})
	}
	return errs.BadRequest("INVALID_REQUEST", vs...)
}

func (c *chain) validateUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := c.validate(req); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (c *chain) validateStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	return h(srv, &validatingStream{ServerStream: ss, c: c})
}

// validatingStream validates every message the client sends.
type validatingStream struct {
	grpc.ServerStream
	c *chain
}

func (s *validatingStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.c.validate(m)
}

// contextStream replaces a stream's context.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }
