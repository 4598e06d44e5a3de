package ratelimit

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"net/netip"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Limiter holds a token bucket per caller. It is safe for concurrent use.
type Limiter struct {
	principal   quota
	anonymous   quota
	now         func() time.Time
	costs       map[string]int // full method -> cost, for methods that do not cost 1
	rejected    *prometheus.CounterVec
	proxyHeader string
	proxies     []netip.Prefix

	seed   maphash.Seed
	shards []shard
}

// shard is one lock's worth of buckets. Spreading the keys over several
// shards keeps concurrent callers from queueing on one mutex; each shard
// evicts its own least recently used key, so eviction is LRU per shard.
type shard struct {
	mu      sync.Mutex
	buckets *simplelru.LRU[string, *rate.Limiter]
}

// A Limiter has one shard per minShardKeys keys it may hold, at least one
// and at most maxShards: enough that cores rarely meet on one lock, few
// enough that per-shard eviction stays close to true LRU.
const (
	maxShards    = 32
	minShardKeys = 256
)

// New returns a Limiter configured by opts.
//
// It fails when an option is out of range, when the metrics cannot be
// registered, or when a method registered in the global proto registry
// costs more than a bucket holds (the smaller of the two bursts, since the
// limiter does not know which methods admit anonymous callers): such a
// method could never be called, and a server should refuse to start rather
// than find out from its users.
func New(opts ...Option) (*Limiter, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	costs, err := loadCosts(min(cfg.principal.burst, cfg.anonymous.burst))
	if err != nil {
		return nil, err
	}
	l := &Limiter{
		principal:   cfg.principal,
		anonymous:   cfg.anonymous,
		now:         cfg.now,
		costs:       costs,
		proxyHeader: cfg.proxyHeader,
		proxies:     cfg.proxies,
		seed:        maphash.MakeSeed(),
		shards:      make([]shard, max(1, min(maxShards, cfg.maxKeys/minShardKeys))),
	}
	for i := range l.shards {
		// Shard sizes add up to exactly maxKeys.
		size := cfg.maxKeys / len(l.shards)
		if i < cfg.maxKeys%len(l.shards) {
			size++
		}
		lru, err := simplelru.NewLRU[string, *rate.Limiter](size, nil)
		if err != nil { // only for a size below 1, which validate rules out
			return nil, fmt.Errorf("ratelimit: %w", err)
		}
		l.shards[i].buckets = lru
	}
	if cfg.registerer != nil {
		l.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bazaar_ratelimit_rejected_total",
			Help: "Calls refused RESOURCE_EXHAUSTED by the rate limiter, by full method.",
		}, []string{"grpc_method"})
		if err := cfg.registerer.Register(l.rejected); err != nil {
			return nil, fmt.Errorf("ratelimit: registering metrics: %w", err)
		}
	}
	return l, nil
}

func (c *config) validate() error {
	var problems []error
	for _, q := range []struct {
		name string
		quota
	}{{"WithRate", c.principal}, {"WithAnonymousRate", c.anonymous}} {
		if !(q.perSecond > 0) || math.IsInf(q.perSecond, 0) { // !(x > 0) also catches NaN
			problems = append(problems, fmt.Errorf("%s: %v tokens per second, want a positive finite rate", q.name, q.perSecond))
		}
		if q.burst < 1 {
			problems = append(problems, fmt.Errorf("%s: burst %d, want at least 1", q.name, q.burst))
		}
	}
	if c.maxKeys < 1 {
		problems = append(problems, fmt.Errorf("WithMaxKeys: %d, want at least 1", c.maxKeys))
	}
	if c.now == nil {
		problems = append(problems, errors.New("WithClock: nil clock"))
	}
	if c.proxyHeader != "" || c.proxies != nil {
		if c.proxyHeader == "" {
			problems = append(problems, errors.New("WithTrustedProxies: empty header name"))
		}
		if len(c.proxies) == 0 {
			problems = append(problems, errors.New("WithTrustedProxies: no proxy given"))
		}
		for _, p := range c.proxies {
			if !p.IsValid() {
				problems = append(problems, errors.New("WithTrustedProxies: invalid prefix"))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("ratelimit: %w", errors.Join(problems...))
	}
	return nil
}

// Allow takes cost tokens from key's bucket if it holds that many at the
// limiter's current time. anonymous selects the budget (WithAnonymousRate
// or WithRate) the bucket gets when key is first seen; keys of the two
// classes must not collide, which the keys of Key never do.
//
// A refused call takes nothing. retryAfter then says how long, at the
// bucket's rate, until it holds cost tokens, rounded up to the millisecond
// (the grain of the retry pushback trailer); it is zero when ok.
//
// cost is at least 1. A cost above the burst is capped to the burst, so
// that such a call waits for a full bucket rather than failing forever; New
// refuses proto-declared costs above the burst, so only a direct caller of
// Allow can meet the cap.
func (l *Limiter) Allow(key string, cost int, anonymous bool) (ok bool, retryAfter time.Duration) {
	q := l.quotaOf(anonymous)
	cost = max(1, min(cost, q.burst))
	b := l.bucket(key, q)
	now := l.now()
	if b.AllowN(now, cost) {
		return true, 0
	}
	// The bucket may have changed since AllowN (concurrent calls); the
	// advice is for the bucket as it is now, which is what a retry meets.
	return false, retryDelay(float64(cost)-b.TokensAt(now), q.perSecond)
}

// Len returns how many callers' buckets the limiter holds: at most
// WithMaxKeys.
func (l *Limiter) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += s.buckets.Len()
		s.mu.Unlock()
	}
	return n
}

func (l *Limiter) quotaOf(anonymous bool) quota {
	if anonymous {
		return l.anonymous
	}
	return l.principal
}

// bucket returns key's bucket, creating a full one with q's budget for a
// key not seen (or forgotten) before.
func (l *Limiter) bucket(key string, q quota) *rate.Limiter {
	s := &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets.Get(key)
	if !ok {
		b = rate.NewLimiter(rate.Limit(q.perSecond), q.burst)
		s.buckets.Add(key, b)
	}
	return b
}

// maxRetryMillis keeps retry advice representable as a time.Duration.
const maxRetryMillis = math.MaxInt64 / int64(time.Millisecond)

// retryDelay is how long perSecond tokens a second take to make up
// deficit, rounded up to the millisecond and at least one. Float noise a
// nanosecond's worth above a whole millisecond does not round up: the
// bucket itself forgives deficits under a nanosecond.
func retryDelay(deficit, perSecond float64) time.Duration {
	ms := math.Ceil(deficit/perSecond*1e3 - 1e-6)
	if ms >= float64(maxRetryMillis) {
		return time.Duration(maxRetryMillis) * time.Millisecond
	}
	return time.Duration(max(ms, 1)) * time.Millisecond
}
