package grpcx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"

	"github.com/bazaarhq/bazaar/internal/platform/obs"
)

// Client defaults, from RELIABILITY.md ("Client").
const (
	clientDefaultTimeout        = 10 * time.Second
	clientDefaultMaxMessageSize = 4 << 20 // 4 MiB, the servers' limit too
	clientDefaultThrottleTokens = 10
	clientDefaultThrottleRatio  = 0.1
	// clientMaxRetryAttempts is grpc-go's own cap; asking for more would be
	// silently ignored, so NewClient refuses it instead.
	clientMaxRetryAttempts = 5
)

// clientDefaultKeepalive pings after 30 s without traffic, while calls are
// in flight, and drops the connection if no answer comes within 10 s: a
// dead peer is noticed instead of hanging calls. Servers enforce a 15 s
// minimum between pings and answer faster pings with GOAWAY
// too_many_pings, so Time must stay above that; PermitWithoutStream is off
// so idle connections do not ping at all.
func clientDefaultKeepalive() keepalive.ClientParameters {
	return keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: false}
}

// RetryPolicy is the retry policy grpc-go applies, below every interceptor,
// to calls that fail with UNAVAILABLE. Only UNAVAILABLE is retried: by
// convention it means "not processed, try again" (a handler must not
// return it after applying an effect), so a retry cannot apply an effect
// twice; mutating calls carry idempotency keys besides.
type RetryPolicy struct {
	// MaxAttempts counts the first attempt: 3 means up to two retries. 1
	// disables retries. grpc-go caps it at 5, so larger values are refused.
	MaxAttempts int
	// InitialBackoff is the delay before the first retry; each later delay
	// is Multiplier times the previous one, up to MaxBackoff. grpc-go adds
	// ±20 % jitter to each.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	Multiplier     float64
}

// clientDefaultRetryPolicy is 3 attempts with 0.1 s -> 1 s exponential
// backoff.
func clientDefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 3, InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, Multiplier: 2}
}

// ClientOption configures NewClient. Every option has a default; NewClient
// with no options gives the stack described on NewClient.
type ClientOption interface{ applyClient(*clientConfig) }

type clientOptionFunc func(*clientConfig)

func (f clientOptionFunc) applyClient(c *clientConfig) { f(c) }

type clientConfig struct {
	creds                credentials.TransportCredentials
	retry                RetryPolicy
	throttleTokens       uint32
	throttleRatio        float64
	methodTimeouts       map[string]time.Duration // key "/service/method" or "/service/"
	keepalive            keepalive.ClientParameters
	defaultTimeout       time.Duration
	defaultStreamTimeout time.Duration
	breaker              BreakerSettings
	breakerOff           bool
	breakerStateChange   func(target, from, to string)
	breakerRegisterer    prometheus.Registerer
	metrics              *grpcprom.ClientMetrics
	unary                []grpc.UnaryClientInterceptor
	stream               []grpc.StreamClientInterceptor
	tracerProvider       trace.TracerProvider
	propagator           propagation.TextMapPropagator
	maxMessageSize       int
	dialOptions          []grpc.DialOption
	errs                 []error // invalid option values, reported by NewClient
}

func clientDefaults() clientConfig {
	return clientConfig{
		creds:          insecure.NewCredentials(),
		retry:          clientDefaultRetryPolicy(),
		throttleTokens: clientDefaultThrottleTokens,
		throttleRatio:  clientDefaultThrottleRatio,
		keepalive:      clientDefaultKeepalive(),
		defaultTimeout: clientDefaultTimeout,
		breaker:        breakerDefaultSettings(),
		maxMessageSize: clientDefaultMaxMessageSize,
	}
}

// WithTransportCredentials sets the connection's transport security, e.g.
// credentials.NewTLS for mTLS between services. Default: insecure
// (plaintext), which is only right on loopback and in development.
func WithTransportCredentials(c credentials.TransportCredentials) ClientOption {
	return clientOptionFunc(func(cfg *clientConfig) { cfg.creds = c })
}

// WithRetryPolicy replaces the retry policy for UNAVAILABLE. Default:
// MaxAttempts 3, InitialBackoff 0.1 s, MaxBackoff 1 s, Multiplier 2.
// MaxAttempts 1 disables retries.
func WithRetryPolicy(p RetryPolicy) ClientOption {
	return clientOptionFunc(func(cfg *clientConfig) { cfg.retry = p })
}

// WithRetryThrottling sets grpc-go's retry token bucket: it starts full at
// maxTokens, each failed attempt takes a token, each successful call gives
// back ratio, and retries stop while half or fewer tokens remain. It keeps
// a downstream that fails every call from receiving three times the load.
// Default: maxTokens 10, ratio 0.1. maxTokens 0 turns throttling off (do
// not, outside tests).
func WithRetryThrottling(maxTokens uint32, ratio float64) ClientOption {
	return clientOptionFunc(func(cfg *clientConfig) { cfg.throttleTokens, cfg.throttleRatio = maxTokens, ratio })
}

// WithMethodTimeout bounds every call of fullMethod to d. fullMethod is a
// gRPC method name, "/package.Service/Method" (the generated
// *_FullMethodName constants), or "/package.Service/" for all methods of a
// service; a method entry wins over its service's.
//
// It is a maximum, installed in the service config: a caller's shorter
// deadline is kept, a longer one is cut to d. A call with no deadline gets
// d rather than the default timeout, so d may also be longer than the
// default (a slow report, a large upload). Default: none; every method gets
// the default timeout (see WithDefaultTimeout).
func WithMethodTimeout(fullMethod string, d time.Duration) ClientOption {
	return clientOptionFunc(func(cfg *clientConfig) {
		key, err := clientMethodKey(fullMethod)
		if err == nil && d <= 0 {
			err = fmt.Errorf("timeout %v for %q is not positive", d, fullMethod)
		}
		if err != nil {
			cfg.errs = append(cfg.errs, err)
			return
		}
		if cfg.methodTimeouts == nil {
			cfg.methodTimeouts = make(map[string]time.Duration)
		}
		cfg.methodTimeouts[key] = d
	})
}

// WithKeepalive replaces the client keepalive parameters. Default: Time
// 30 s, Timeout 10 s, PermitWithoutStream false. Bazaar servers answer
// pings more often than every 15 s with GOAWAY, so keep Time above that.
func WithKeepalive(p keepalive.ClientParameters) ClientOption {
	return clientOptionFunc(func(cfg *clientConfig) { cfg.keepalive = p })
}

// WithDefaultTimeout sets the deadline given to a unary call whose context
// has none, so no call can wait forever on a stuck upstream. A deadline
// the caller set, shorter or longer, is kept. Default: 10 s; it must be
// positive.
func WithDefaultTimeout(d time.Duration) ClientOption {
	return clientOptionFunc(func(cfg *clientConfig) { cfg.defaultTimeout = d })
}

// WithDefaultStreamTimeout sets the deadline given to a stream whose
// context has none. Default: 0, no deadline, because Bazaar's streams are
// mostly long-lived (event subscriptions, order watches, support chat) and
// a fixed deadline would cut them; such callers end their streams by
// cancelling the context. Set it for clients that only open short streams.
// Per-method timeouts (WithMethodTimeout) apply to streams either way.
func WithDefaultStreamTimeout(d time.Duration) ClientOption {
	return clientOptionFunc(func(cfg *clientConfig) { cfg.defaultStreamTimeout = d })
}

// WithClientMetrics records grpc_client_* Prometheus metrics with m
// (usually obs.Metrics.Client, registered once per process). The metrics
// interceptor sits inside the circuit breaker, so it measures real calls;
// calls the breaker rejects are counted by WithBreakerMetrics instead.
// Default: no metrics.
func WithClientMetrics(m *grpcprom.ClientMetrics) ClientOption {
	return clientOptionFunc(func(cfg *clientConfig) { cfg.metrics = m })
}

// WithClientUnaryInterceptors appends unary interceptors innermost, after
// Bazaar's own (deadline, request id, circuit breaker, metrics). Default:
// none.
func WithClientUnaryInterceptors(i ...grpc.UnaryClientInterceptor) ClientOption {
	return clientOptionFunc(func(cfg *clientConfig) { cfg.unary = append(cfg.unary, i...) })
}

// WithClientStreamInterceptors appends stream interceptors innermost,
// after Bazaar's own. Default: none.
func WithClientStreamInterceptors(i ...grpc.StreamClientInterceptor) ClientOption {
	return clientOptionFunc(func(cfg *clientConfig) { cfg.stream = append(cfg.stream, i...) })
}

// WithTracerProvider traces calls with OpenTelemetry (otelgrpc as a stats
// handler) using tp, and propagates trace context to the server. Default:
// no tracing handler at all, which costs nothing. Without WithPropagator
// the W3C trace-context and baggage propagators are used.
func WithTracerProvider(tp trace.TracerProvider) ClientOption {
	return clientOptionFunc(func(cfg *clientConfig) { cfg.tracerProvider = tp })
}

// WithPropagator sets how trace context travels in metadata and installs
// the tracing handler like WithTracerProvider. Given alone, it propagates
// the caller's trace context without recording client spans. Default: no
// tracing handler.
func WithPropagator(p propagation.TextMapPropagator) ClientOption {
	return clientOptionFunc(func(cfg *clientConfig) { cfg.propagator = p })
}

// WithMaxMessageSize caps the size of a message sent or received, in
// bytes. Default: 4 MiB, the servers' limit; large payloads stream in
// chunks instead.
func WithMaxMessageSize(n int) ClientOption {
	return clientOptionFunc(func(cfg *clientConfig) { cfg.maxMessageSize = n })
}

// WithDialOptions appends raw grpc.DialOptions after all of Bazaar's, so
// they win where they overlap. It is the escape hatch (a bufconn dialer in
// tests, a custom resolver); prefer a named option. Default: none.
func WithDialOptions(o ...grpc.DialOption) ClientOption {
	return clientOptionFunc(func(cfg *clientConfig) { cfg.dialOptions = append(cfg.dialOptions, o...) })
}

// NewClient returns a ClientConn for target with Bazaar's client stack. One
// per target, created once, shared: the connection, the retry-token bucket
// and the circuit breaker all live in it. Like grpc.NewClient it does not
// connect until the first call; target is e.g. "dns:///catalog:8443" or a
// plain "host:port" (passthrough).
//
// The stack, outer to inner:
//
//  1. default deadline: a unary call without one gets the method's timeout
//     or the default (WithDefaultTimeout, WithMethodTimeout); streams only
//     with WithDefaultStreamTimeout;
//  2. request id: the id in ctx (obs.RequestID) is sent as x-request-id
//     unless the caller set that header itself;
//  3. circuit breaker for this target (WithBreaker);
//  4. Prometheus metrics (WithClientMetrics);
//  5. caller interceptors (WithClientUnaryInterceptors, …);
//  6. inside the ClientConn, below every interceptor: the service config's
//     retries and retry throttling, round-robin balancing. The breaker and
//     metrics therefore see one logical call, whatever the attempts.
//
// The service config is always ours (WithDefaultServiceConfig): configs
// published by the name resolver, such as DNS TXT records, are ignored and
// not even looked up (WithDisableServiceConfig), so retry and timeout
// behaviour is the one this code states and its tests prove, not whatever
// a DNS zone says.
//
// NewClient fails on invalid options or a target grpc cannot parse.
func NewClient(target string, opts ...ClientOption) (*grpc.ClientConn, error) {
	cfg := clientDefaults()
	for _, o := range opts {
		o.applyClient(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("grpcx: client for %q: %w", target, err)
	}
	serviceConfig, err := cfg.serviceConfigJSON()
	if err != nil {
		return nil, fmt.Errorf("grpcx: client for %q: service config: %w", target, err)
	}

	unary := []grpc.UnaryClientInterceptor{
		clientDeadlines{def: cfg.defaultTimeout, methods: cfg.methodTimeouts}.unary,
		clientRequestIDUnary,
	}
	stream := make([]grpc.StreamClientInterceptor, 0, 4+len(cfg.stream))
	if cfg.defaultStreamTimeout > 0 {
		stream = append(stream, clientDeadlines{def: cfg.defaultStreamTimeout, methods: cfg.methodTimeouts}.stream)
	}
	stream = append(stream, clientRequestIDStream)
	if !cfg.breakerOff {
		b, err := newBreakerCircuit(target, cfg.breaker, cfg.breakerStateChange, cfg.breakerRegisterer)
		if err != nil {
			return nil, fmt.Errorf("grpcx: client for %q: %w", target, err)
		}
		unary = append(unary, b.unary)
		stream = append(stream, b.stream)
	}
	if cfg.metrics != nil {
		unary = append(unary, cfg.metrics.UnaryClientInterceptor())
		stream = append(stream, cfg.metrics.StreamClientInterceptor())
	}
	unary = append(unary, cfg.unary...)
	stream = append(stream, cfg.stream...)

	dialOpts := []grpc.DialOption{
		grpc.WithTransportCredentials(cfg.creds),
		grpc.WithDefaultServiceConfig(serviceConfig),
		grpc.WithDisableServiceConfig(),
		grpc.WithKeepaliveParams(cfg.keepalive),
		grpc.WithDefaultCallOptions(
			codecCallOption(),
			grpc.MaxCallRecvMsgSize(cfg.maxMessageSize),
			grpc.MaxCallSendMsgSize(cfg.maxMessageSize),
		),
		grpc.WithChainUnaryInterceptor(unary...),
		grpc.WithChainStreamInterceptor(stream...),
	}
	if cfg.tracerProvider != nil || cfg.propagator != nil {
		dialOpts = append(dialOpts, grpc.WithStatsHandler(cfg.tracingHandler()))
	}
	dialOpts = append(dialOpts, cfg.dialOptions...)
	cc, err := grpc.NewClient(target, dialOpts...)
	if err != nil {
		return nil, fmt.Errorf("grpcx: client for %q: %w", target, err)
	}
	return cc, nil
}

func (c *clientConfig) validate() error {
	errs := slices.Clone(c.errs)
	if c.creds == nil {
		errs = append(errs, errors.New("nil transport credentials"))
	}
	if r := c.retry; r.MaxAttempts < 1 || r.MaxAttempts > clientMaxRetryAttempts {
		errs = append(errs, fmt.Errorf("retry MaxAttempts %d is outside [1, %d]", r.MaxAttempts, clientMaxRetryAttempts))
	} else if r.MaxAttempts > 1 && (r.InitialBackoff <= 0 || r.MaxBackoff < r.InitialBackoff || r.Multiplier <= 0) {
		errs = append(errs, fmt.Errorf("retry policy %+v: want 0 < InitialBackoff <= MaxBackoff and Multiplier > 0", r))
	}
	if c.throttleTokens > 1000 || (c.throttleTokens > 0 && c.throttleRatio <= 0) {
		errs = append(errs, fmt.Errorf("retry throttling (%d tokens, ratio %v): want at most 1000 tokens and a positive ratio",
			c.throttleTokens, c.throttleRatio))
	}
	if c.defaultTimeout <= 0 {
		errs = append(errs, fmt.Errorf("default timeout %v is not positive: every unary call needs a deadline", c.defaultTimeout))
	}
	if c.defaultStreamTimeout < 0 {
		errs = append(errs, fmt.Errorf("default stream timeout %v is negative", c.defaultStreamTimeout))
	}
	if c.maxMessageSize <= 0 {
		errs = append(errs, fmt.Errorf("max message size %d is not positive", c.maxMessageSize))
	}
	if err := c.breaker.validate(); err != nil && !c.breakerOff {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// tracingHandler is otelgrpc's client stats handler. Its metrics go to a
// no-op meter provider: Prometheus already measures calls, and recording
// everything twice would cost per call. Nothing falls back to OTel's
// globals.
func (c *clientConfig) tracingHandler() stats.Handler {
	tp := c.tracerProvider
	if tp == nil {
		tp = tracenoop.NewTracerProvider() // propagate the caller's span context only
	}
	p := c.propagator
	if p == nil {
		p = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	return otelgrpc.NewClientHandler(
		otelgrpc.WithTracerProvider(tp),
		otelgrpc.WithPropagators(p),
		otelgrpc.WithMeterProvider(metricnoop.NewMeterProvider()),
	)
}

// The service config, as grpc-go reads it
// (https://github.com/grpc/grpc/blob/master/doc/service_config.md).
type (
	clientServiceConfig struct {
		LoadBalancingConfig []map[string]struct{} `json:"loadBalancingConfig"`
		MethodConfig        []clientMethodConfig  `json:"methodConfig,omitempty"`
		RetryThrottling     *clientThrottling     `json:"retryThrottling,omitempty"`
	}
	clientMethodConfig struct {
		Name        []clientMethodName `json:"name"`
		Timeout     string             `json:"timeout,omitempty"`
		RetryPolicy *clientRetryJSON   `json:"retryPolicy,omitempty"`
	}
	// clientMethodName with both fields empty ({}) matches every method.
	clientMethodName struct {
		Service string `json:"service,omitempty"`
		Method  string `json:"method,omitempty"`
	}
	clientRetryJSON struct {
		MaxAttempts          int      `json:"maxAttempts"`
		InitialBackoff       string   `json:"initialBackoff"`
		MaxBackoff           string   `json:"maxBackoff"`
		BackoffMultiplier    float64  `json:"backoffMultiplier"`
		RetryableStatusCodes []string `json:"retryableStatusCodes"`
	}
	clientThrottling struct {
		MaxTokens  uint32  `json:"maxTokens"`
		TokenRatio float64 `json:"tokenRatio"`
	}
)

// serviceConfigJSON builds the default service config. grpc-go picks the
// most specific methodConfig for a call and does not merge entries, so each
// per-method entry repeats the retry policy: a timeout must not silently
// switch retries off.
func (c *clientConfig) serviceConfigJSON() (string, error) {
	var retry *clientRetryJSON
	if c.retry.MaxAttempts > 1 {
		retry = &clientRetryJSON{
			MaxAttempts:          c.retry.MaxAttempts,
			InitialBackoff:       clientDurationJSON(c.retry.InitialBackoff),
			MaxBackoff:           clientDurationJSON(c.retry.MaxBackoff),
			BackoffMultiplier:    c.retry.Multiplier,
			RetryableStatusCodes: []string{"UNAVAILABLE"},
		}
	}
	sc := clientServiceConfig{LoadBalancingConfig: []map[string]struct{}{{"round_robin": {}}}}
	if retry != nil {
		sc.MethodConfig = append(sc.MethodConfig, clientMethodConfig{Name: []clientMethodName{{}}, RetryPolicy: retry})
	}
	for _, key := range slices.Sorted(maps.Keys(c.methodTimeouts)) { // sorted: a stable config
		service, method, _ := strings.Cut(strings.TrimPrefix(key, "/"), "/")
		sc.MethodConfig = append(sc.MethodConfig, clientMethodConfig{
			Name:        []clientMethodName{{Service: service, Method: method}},
			Timeout:     clientDurationJSON(c.methodTimeouts[key]),
			RetryPolicy: retry,
		})
	}
	if c.throttleTokens > 0 {
		sc.RetryThrottling = &clientThrottling{MaxTokens: c.throttleTokens, TokenRatio: c.throttleRatio}
	}
	b, err := json.Marshal(sc)
	return string(b), err
}

// clientDurationJSON formats d as a protobuf JSON Duration ("0.1s", "2s"),
// exactly, in integer arithmetic.
func clientDurationJSON(d time.Duration) string {
	sec, frac := d/time.Second, d%time.Second
	s := strconv.FormatInt(int64(sec), 10)
	if frac != 0 {
		f := strconv.FormatInt(int64(frac)+int64(time.Second), 10)[1:] // 9 digits, zero-padded
		s += "." + strings.TrimRight(f, "0")
	}
	return s + "s"
}

// clientMethodKey normalizes "/pkg.Service/Method", "pkg.Service/Method",
// "/pkg.Service/" or "/pkg.Service" to the form gRPC passes interceptors:
// "/pkg.Service/Method", or "/pkg.Service/" for a whole service.
func clientMethodKey(fullMethod string) (string, error) {
	service, method, _ := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	if service == "" || strings.Contains(method, "/") {
		return "", fmt.Errorf("method name %q: want /package.Service/Method or /package.Service/", fullMethod)
	}
	return "/" + service + "/" + method, nil
}

// clientDeadlines gives calls without a deadline one: the method's timeout
// if it has one, else def.
type clientDeadlines struct {
	def     time.Duration
	methods map[string]time.Duration
}

func (d clientDeadlines) timeout(method string) time.Duration {
	if len(d.methods) > 0 {
		if t, ok := d.methods[method]; ok {
			return t
		}
		if i := strings.LastIndexByte(method, '/'); i > 0 {
			if t, ok := d.methods[method[:i+1]]; ok {
				return t
			}
		}
	}
	return d.def
}

func (d clientDeadlines) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.timeout(method))
		defer cancel()
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

func (d clientDeadlines) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if _, ok := ctx.Deadline(); ok {
		return streamer(ctx, desc, cc, method, opts...)
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout(method))
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		cancel()
		return nil, err
	}
	return &clientDeadlineStream{ClientStream: cs, cancel: cancel, serverStreams: desc.ServerStreams}, nil
}

// clientDeadlineStream releases the deadline's timer when the stream ends,
// which is when RecvMsg returns an error (io.EOF included) or, for a
// single-response stream, returns at all, exactly as grpc-go ends it. A
// stream abandoned earlier is released when its parent context ends.
type clientDeadlineStream struct {
	grpc.ClientStream
	cancel        context.CancelFunc
	serverStreams bool
}

func (s *clientDeadlineStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil || !s.serverStreams {
		s.cancel()
	}
	return err
}

// clientWithRequestID forwards the request id of ctx as x-request-id. An
// id the caller already put in the outgoing metadata wins; an invalid id is
// dropped rather than failing the call on a bad header.
func clientWithRequestID(ctx context.Context) context.Context {
	id := obs.RequestID(ctx)
	if id == "" || !obs.ValidRequestID(id) || len(metadata.ValueFromOutgoingContext(ctx, obs.RequestIDHeader)) > 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, obs.RequestIDHeader, id)
}

func clientRequestIDUnary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return invoker(clientWithRequestID(ctx), method, req, reply, cc, opts...)
}

func clientRequestIDStream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return streamer(clientWithRequestID(ctx), desc, cc, method, opts...)
}
