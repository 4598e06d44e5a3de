package ratelimit

import (
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The defaults of New.
const (
	// DefaultRate and DefaultBurst are a signed-in caller's budget: 50
	// tokens a second, up to 100 at once.
	DefaultRate  = 50
	DefaultBurst = 100
	// DefaultAnonymousRate and DefaultAnonymousBurst are an anonymous
	// address's budget: 10 tokens a second, up to 20 at once.
	DefaultAnonymousRate  = 10
	DefaultAnonymousBurst = 20
	// DefaultMaxKeys is how many callers' buckets a Limiter keeps.
	DefaultMaxKeys = 100_000
)

// Option configures New. Every option is optional; each states its default.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// quota is one class of callers' budget: tokens per second and bucket size.
type quota struct {
	perSecond float64
	burst     int
}

type config struct {
	principal   quota
	anonymous   quota
	maxKeys     int
	now         func() time.Time
	registerer  prometheus.Registerer
	proxyHeader string
	proxies     []netip.Prefix
}

func defaultConfig() config {
	return config{
		principal: quota{perSecond: DefaultRate, burst: DefaultBurst},
		anonymous: quota{perSecond: DefaultAnonymousRate, burst: DefaultAnonymousBurst},
		maxKeys:   DefaultMaxKeys,
		now:       time.Now,
	}
}

// WithRate sets the budget of every signed-in caller (each principal has
// its own bucket): perSecond tokens a second, at most burst at once.
// perSecond must be positive and finite, burst at least 1. Default
// DefaultRate and DefaultBurst (50/s, burst 100).
func WithRate(perSecond float64, burst int) Option {
	return optionFunc(func(c *config) { c.principal = quota{perSecond: perSecond, burst: burst} })
}

// WithAnonymousRate sets the budget of each anonymous caller's address, as
// WithRate does for principals. Anonymous callers are cheap to multiply, so
// keep it stricter. Default DefaultAnonymousRate and DefaultAnonymousBurst
// (10/s, burst 20).
func WithAnonymousRate(perSecond float64, burst int) Option {
	return optionFunc(func(c *config) { c.anonymous = quota{perSecond: perSecond, burst: burst} })
}

// WithMaxKeys bounds how many callers' buckets the limiter keeps (at least
// 1); beyond it, a least recently seen caller is forgotten and starts again
// with a full bucket. Below 512 keys that is exactly the least recent one;
// above, the keys are spread over up to 32 locks, each evicting its own
// least recent. A bucket takes about 220 bytes. Default DefaultMaxKeys
// (100 000, about 22 MB at most).
func WithMaxKeys(n int) Option {
	return optionFunc(func(c *config) { c.maxKeys = n })
}

// WithClock sets the limiter's clock, for tests. Default time.Now.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) { c.now = now })
}

// WithMetrics registers the counter bazaar_ratelimit_rejected_total
// {grpc_method} on reg: calls the interceptors refused, by full method.
// Default: no metrics.
func WithMetrics(reg prometheus.Registerer) Option {
	return optionFunc(func(c *config) { c.registerer = reg })
}

// WithTrustedProxies makes anonymous callers that reach the server through
// one of the proxies (a REST gateway, a load balancer) keyed by the address
// the proxy reports in the metadata header (for example
// "x-forwarded-for", which grpc-gateway sets) rather than by the proxy's
// own address, which would put every visitor in one bucket.
//
// The header is read only when the peer's address is in one of proxies;
// anyone else could write any address into it and get a fresh bucket per
// call. The header is a comma-separated list of addresses, each hop
// appending the one it received from; the caller is the rightmost address
// that is not itself a trusted proxy. A malformed entry ends the walk at
// the proxy that passed it on. Default: no proxy is trusted and the header
// is ignored.
func WithTrustedProxies(header string, proxies ...netip.Prefix) Option {
	return optionFunc(func(c *config) {
		c.proxyHeader = strings.ToLower(header)
		c.proxies = make([]netip.Prefix, 0, len(proxies))
		for _, p := range proxies {
			c.proxies = append(c.proxies, p.Masked())
		}
	})
}
