package ratelimit_test

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/ratelimit"
)

// namedAddr is a net.Addr that is not a *net.TCPAddr, like bufconn's.
type namedAddr string

func (a namedAddr) Network() string { return "test" }
func (a namedAddr) String() string  { return string(a) }

func tcp(hostport string) net.Addr {
	return net.TCPAddrFromAddrPort(netip.MustParseAddrPort(hostport))
}

// callContext is the context of a server call from addr (none if nil) by
// principal p (anonymous if nil) with incoming metadata md (key, value…).
func callContext(addr net.Addr, p *auth.Principal, md ...string) context.Context {
	ctx := context.Background()
	if addr != nil {
		ctx = peer.NewContext(ctx, &peer.Peer{Addr: addr})
	}
	if p != nil {
		ctx = auth.WithPrincipal(ctx, p)
	}
	if len(md) > 0 {
		ctx = metadata.NewIncomingContext(ctx, metadata.Pairs(md...))
	}
	return ctx
}

type keyCase struct {
	name          string
	ctx           context.Context
	wantKey       string
	wantAnonymous bool
}

func checkKeys(t *testing.T, l *ratelimit.Limiter, cases []keyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			key, anonymous := l.Key(tc.ctx)
			if key != tc.wantKey || anonymous != tc.wantAnonymous {
				t.Errorf("Key() = %q, %t; want %q, %t", key, anonymous, tc.wantKey, tc.wantAnonymous)
			}
		})
	}
}

func TestKey(t *testing.T) {
	t.Parallel()
	l, err := ratelimit.New()
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	user := &auth.Principal{Kind: auth.User, Subject: "u1"}
	apiKey := &auth.Principal{Kind: auth.APIKey, Subject: "u1", APIKeyID: "k1"}
	checkKeys(t, l, []keyCase{
		{"user", callContext(tcp("203.0.113.7:5555"), user), "user:u1", false},
		{"API key", callContext(tcp("203.0.113.7:5555"), apiKey), "api_key:k1", false},
		{"IPv4 without port", callContext(tcp("203.0.113.7:5555"), nil), "ip:203.0.113.7", true},
		{"IPv6 by its /64", callContext(tcp("[2001:db8:1:2:3:4:5:6]:443"), nil), "ip:2001:db8:1:2::/64", true},
		{"same /64, same key", callContext(tcp("[2001:db8:1:2:ffff::9]:80"), nil), "ip:2001:db8:1:2::/64", true},
		{"IPv4-mapped IPv6 is IPv4", callContext(tcp("[::ffff:198.51.100.9]:80"), nil), "ip:198.51.100.9", true},
		{"zone dropped", callContext(&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 80, Zone: "eth0"}, nil), "ip:fe80::/64", true},
		{"UDP", callContext(&net.UDPAddr{IP: net.ParseIP("192.0.2.4"), Port: 53}, nil), "ip:192.0.2.4", true},
		{"other address type with host:port", callContext(namedAddr("192.0.2.1:80"), nil), "ip:192.0.2.1", true},
		{"no peer", callContext(nil, nil), ratelimit.UnknownKey, true},
		{"in-memory peer", callContext(namedAddr("bufconn"), nil), ratelimit.UnknownKey, true},
		{"Unix socket", callContext(&net.UnixAddr{Name: "/run/bazaar.sock", Net: "unix"}, nil), ratelimit.UnknownKey, true},
		{"TCP address without IP", callContext(&net.TCPAddr{}, nil), ratelimit.UnknownKey, true},
		{"x-forwarded-for ignored by default", callContext(tcp("203.0.113.7:5555"), nil, "x-forwarded-for", "198.51.100.1"),
			"ip:203.0.113.7", true},
		{"principal wins over address", callContext(tcp("10.0.0.2:5555"), user, "x-forwarded-for", "198.51.100.1"),
			"user:u1", false},
	})
}

func TestKeyTrustedProxies(t *testing.T) {
	t.Parallel()
	l, err := ratelimit.New(ratelimit.WithTrustedProxies("X-Forwarded-For",
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")))
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	proxy, proxy6, stranger := tcp("10.0.0.2:40000"), tcp("[fd00::2]:40000"), tcp("203.0.113.66:40000")
	const xff = "x-forwarded-for"
	checkKeys(t, l, []keyCase{
		{"forwarded client", callContext(proxy, nil, xff, "203.0.113.7"), "ip:203.0.113.7", true},
		{"through an IPv6 proxy", callContext(proxy6, nil, xff, "203.0.113.7"), "ip:203.0.113.7", true},
		{"forwarded IPv6 client by its /64", callContext(proxy, nil, xff, "2001:db8::1"), "ip:2001:db8::/64", true},
		{"forwarded with a port", callContext(proxy, nil, xff, "203.0.113.7:4711"), "ip:203.0.113.7", true},
		{"an untrusted peer's header is ignored", callContext(stranger, nil, xff, "198.51.100.1"), "ip:203.0.113.66", true},
		{"what the client wrote itself is ignored", callContext(proxy, nil, xff, "198.51.100.1, 203.0.113.7"),
			"ip:203.0.113.7", true},
		{"through two proxies", callContext(proxy, nil, xff, "203.0.113.7, 10.0.0.3"), "ip:203.0.113.7", true},
		{"several header values are one list", callContext(proxy, nil, xff, "203.0.113.7", xff, "10.0.0.3"),
			"ip:203.0.113.7", true},
		{"a malformed entry stops at the last proxy", callContext(proxy, nil, xff, "203.0.113.7, nonsense, 10.0.0.3"),
			"ip:10.0.0.3", true},
		{"only proxies: the leftmost", callContext(proxy, nil, xff, "10.0.0.5, 10.0.0.3"), "ip:10.0.0.5", true},
		{"no header: the proxy itself", callContext(proxy, nil), "ip:10.0.0.2", true},
		{"empty header: the proxy itself", callContext(proxy, nil, xff, ""), "ip:10.0.0.2", true},
		{"a principal needs no address", callContext(proxy, &auth.Principal{Kind: auth.Service, Subject: "gateway"}, xff, "203.0.113.7"),
			"service:gateway", false},
	})
}
