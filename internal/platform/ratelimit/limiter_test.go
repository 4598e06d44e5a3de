package ratelimit_test

import (
	"math"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/ratelimit"
)

// step is one Allow call of a bucket-math case, after advancing the clock.
type step struct {
	advance   time.Duration
	key       string
	cost      int
	anonymous bool
	wantOK    bool
	wantRetry time.Duration
}

func allowed(key string, cost int) step { return step{key: key, cost: cost, wantOK: true} }

func refused(key string, cost int, retry time.Duration) step {
	return step{key: key, cost: cost, wantRetry: retry}
}

func after(d time.Duration, s step) step { s.advance = d; return s }

func repeat(n int, s step) []step {
	out := make([]step, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestAllow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		opts  []ratelimit.Option
		steps []step
	}{
		{
			name: "burst then refusal",
			opts: []ratelimit.Option{ratelimit.WithRate(10, 10)},
			steps: append(repeat(10, allowed("user:a", 1)),
				refused("user:a", 1, 100*time.Millisecond)),
		},
		{
			name: "one token back after 1/rate",
			opts: []ratelimit.Option{ratelimit.WithRate(10, 10)},
			steps: append(repeat(10, allowed("user:a", 1)),
				after(100*time.Millisecond, allowed("user:a", 1)),
				refused("user:a", 1, 100*time.Millisecond)),
		},
		{
			name: "a partial refill shortens the wait",
			opts: []ratelimit.Option{ratelimit.WithRate(10, 10)},
			steps: append(repeat(10, allowed("user:a", 1)),
				after(40*time.Millisecond, refused("user:a", 1, 60*time.Millisecond)),
				after(60*time.Millisecond, allowed("user:a", 1))),
		},
		{
			name: "a refusal takes nothing",
			opts: []ratelimit.Option{ratelimit.WithRate(10, 10)},
			steps: append(repeat(10, allowed("user:a", 1)),
				refused("user:a", 1, 100*time.Millisecond),
				refused("user:a", 1, 100*time.Millisecond),
				refused("user:a", 5, 500*time.Millisecond),
				after(100*time.Millisecond, allowed("user:a", 1))),
		},
		{
			name: "cost N takes N tokens",
			opts: []ratelimit.Option{ratelimit.WithRate(1, 10)},
			steps: []step{
				allowed("user:a", 4), allowed("user:a", 4),
				refused("user:a", 4, 2*time.Second), // 2 left, 2 short
				allowed("user:a", 2),
				refused("user:a", 1, time.Second),
			},
		},
		{
			name: "a cost above the burst waits for a full bucket",
			opts: []ratelimit.Option{ratelimit.WithRate(1, 10)},
			steps: []step{
				allowed("user:a", 50),
				refused("user:a", 50, 10*time.Second),
				after(10*time.Second, allowed("user:a", 50)),
			},
		},
		{
			name: "a cost below 1 costs 1",
			opts: []ratelimit.Option{ratelimit.WithRate(1, 10)},
			steps: append(append(repeat(5, allowed("user:a", 0)), repeat(5, allowed("user:a", -3))...),
				refused("user:a", 0, time.Second)),
		},
		{
			name: "the bucket holds no more than its burst",
			opts: []ratelimit.Option{ratelimit.WithRate(10, 10)},
			steps: []step{
				allowed("user:a", 10),
				after(time.Hour, allowed("user:a", 10)),
				refused("user:a", 1, 100*time.Millisecond),
			},
		},
		{
			name: "retry advice rounds up to the millisecond",
			opts: []ratelimit.Option{ratelimit.WithRate(3, 10)},
			steps: append(repeat(10, allowed("user:a", 1)),
				refused("user:a", 1, 334*time.Millisecond), // 333.3… ms
				after(333*time.Millisecond, refused("user:a", 1, time.Millisecond)),
				after(time.Millisecond, allowed("user:a", 1))),
		},
		{
			name: "a slow rate",
			opts: []ratelimit.Option{ratelimit.WithRate(0.5, 10)},
			steps: append(repeat(10, allowed("user:a", 1)),
				refused("user:a", 1, 2*time.Second)),
		},
		{
			name: "keys have separate buckets",
			opts: []ratelimit.Option{ratelimit.WithRate(1, 10)},
			steps: []step{
				allowed("user:a", 10), refused("user:a", 1, time.Second),
				allowed("user:b", 10), refused("user:b", 1, time.Second),
			},
		},
		{
			name: "anonymous callers get the anonymous budget",
			opts: []ratelimit.Option{ratelimit.WithRate(100, 100), ratelimit.WithAnonymousRate(2, 10)},
			steps: []step{
				{key: "ip:192.0.2.1", cost: 10, anonymous: true, wantOK: true},
				{key: "ip:192.0.2.1", cost: 1, anonymous: true, wantRetry: 500 * time.Millisecond},
				allowed("user:a", 100),
				refused("user:a", 1, 10*time.Millisecond),
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			l, err := ratelimit.New(append(tc.opts, ratelimit.WithClock(clock.Now))...)
			if err != nil {
				t.Fatalf("New() = %v", err)
			}
			for i, s := range tc.steps {
				clock.Advance(s.advance)
				gotOK, gotRetry := l.Allow(s.key, s.cost, s.anonymous)
				if gotOK != s.wantOK || gotRetry != s.wantRetry {
					t.Fatalf("step %d: Allow(%q, %d, %t) = %t, %v; want %t, %v",
						i, s.key, s.cost, s.anonymous, gotOK, gotRetry, s.wantOK, s.wantRetry)
				}
			}
		})
	}
}

// TestAllowConcurrent: callers racing for one bucket get exactly its
// tokens, no more.
func TestAllowConcurrent(t *testing.T) {
	t.Parallel()
	const burst, goroutines, attempts = 100, 16, 50
	clock := newFakeClock()
	l, err := ratelimit.New(ratelimit.WithRate(1, burst), ratelimit.WithClock(clock.Now))
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range attempts {
				if ok, _ := l.Allow("user:a", 1, false); ok {
					admitted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := admitted.Load(); got != burst {
		t.Errorf("%d racing Allow calls admitted %d, want exactly the burst %d", goroutines*attempts, got, burst)
	}
}

// TestBoundedMemory pushes a million distinct callers through a limiter
// that keeps a thousand. It does not run in parallel: it measures the heap.
func TestBoundedMemory(t *testing.T) {
	const maxKeys, callers = 1000, 1_000_000
	l, err := ratelimit.New(ratelimit.WithMaxKeys(maxKeys), ratelimit.WithAnonymousRate(1, 10),
		ratelimit.WithClock(newFakeClock().Now))
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	key := func(i int) string {
		return "ip:" + netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String()
	}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range callers {
		if ok, _ := l.Allow(key(i), 1, true); !ok {
			t.Fatalf("Allow(%q) = false for a new caller", key(i))
		}
		if n := l.Len(); i%100_000 == 0 && n > maxKeys {
			t.Fatalf("after %d callers Len() = %d, want <= %d", i+1, n, maxKeys)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)

	if n := l.Len(); n != maxKeys {
		t.Errorf("after %d callers Len() = %d, want %d", callers, n, maxKeys)
	}
	// A thousand buckets take well under a megabyte; a million would take
	// hundreds.
	const heapBudget = 8 << 20
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > heapBudget {
		t.Errorf("heap grew by %d bytes over %d callers, want <= %d", grown, callers, heapBudget)
	}

	// The latest caller is still tracked: its bucket remembers the call.
	last := key(callers - 1)
	for range 9 {
		l.Allow(last, 1, true)
	}
	if ok, _ := l.Allow(last, 1, true); ok {
		t.Errorf("Allow(%q) admitted an 11th call in a burst of 10: the latest caller was forgotten", last)
	}
	// The first was forgotten and starts again with a full bucket: the
	// documented price of the bound.
	if ok, _ := l.Allow(key(0), 10, true); !ok {
		t.Errorf("Allow(%q, 10) = false, want a full bucket for a forgotten caller", key(0))
	}
	runtime.KeepAlive(l)
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	proxy := netip.MustParsePrefix("10.0.0.0/8")
	for _, tc := range []struct {
		name string
		opt  ratelimit.Option
		want string
	}{
		{"zero rate", ratelimit.WithRate(0, 10), "WithRate: 0 tokens per second"},
		{"negative rate", ratelimit.WithAnonymousRate(-1, 10), "WithAnonymousRate: -1 tokens per second"},
		{"NaN rate", ratelimit.WithRate(math.NaN(), 10), "WithRate: NaN"},
		{"infinite rate", ratelimit.WithRate(math.Inf(1), 10), "WithRate: +Inf"},
		{"zero burst", ratelimit.WithRate(1, 0), "WithRate: burst 0"},
		{"no keys", ratelimit.WithMaxKeys(0), "WithMaxKeys: 0"},
		{"nil clock", ratelimit.WithClock(nil), "WithClock: nil clock"},
		{"no proxy header", ratelimit.WithTrustedProxies("", proxy), "WithTrustedProxies: empty header"},
		{"no proxies", ratelimit.WithTrustedProxies("x-forwarded-for"), "WithTrustedProxies: no proxy"},
		{"invalid proxy", ratelimit.WithTrustedProxies("x-forwarded-for", netip.Prefix{}), "WithTrustedProxies: invalid prefix"},
		// identity's Login and Register cost 10 (see TestCost): a burst of
		// 9 could never pay for them.
		{"a cost above the burst", ratelimit.WithAnonymousRate(1, 9),
			"/bazaar.identity.v1.IdentityService/Login costs 10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := ratelimit.New(tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New(%s) = %v, %v; want an error containing %q", tc.name, l, err, tc.want)
			}
		})
	}
	if _, err := ratelimit.New(ratelimit.WithAnonymousRate(1, 10)); err != nil {
		t.Errorf("New(WithAnonymousRate(1, 10)) = %v, want nil: a burst of 10 pays for every identity method", err)
	}
}

func TestLenCountsCallers(t *testing.T) {
	t.Parallel()
	l, err := ratelimit.New(ratelimit.WithMaxKeys(5))
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	for i, want := range []int{1, 2, 3, 4, 5, 5, 5} {
		l.Allow("user:"+strconv.Itoa(i), 1, false)
		if got := l.Len(); got != want {
			t.Errorf("after %d callers Len() = %d, want %d", i+1, got, want)
		}
	}
	l.Allow("user:6", 1, false) // seen: no new bucket
	if got := l.Len(); got != 5 {
		t.Errorf("after a known caller Len() = %d, want 5", got)
	}
}

// TestEvictsLeastRecentlySeen: a full limiter forgets the caller it saw
// least recently, refused calls counting as seen.
func TestEvictsLeastRecentlySeen(t *testing.T) {
	t.Parallel()
	l, err := ratelimit.New(ratelimit.WithMaxKeys(2), ratelimit.WithRate(1, 10), ratelimit.WithClock(newFakeClock().Now))
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	for _, s := range []step{
		allowed("user:a", 10),
		allowed("user:b", 10),
		refused("user:a", 1, time.Second), // a is now more recent than b
		allowed("user:c", 10),             // evicts b
		refused("user:a", 1, time.Second), // a was kept
		allowed("user:b", 10),             // b was forgotten: a full bucket; evicts c
		refused("user:a", 1, time.Second),
		allowed("user:c", 10),
	} {
		if gotOK, gotRetry := l.Allow(s.key, s.cost, false); gotOK != s.wantOK || gotRetry != s.wantRetry {
			t.Fatalf("Allow(%q, %d) = %t, %v; want %t, %v", s.key, s.cost, gotOK, gotRetry, s.wantOK, s.wantRetry)
		}
	}
}
