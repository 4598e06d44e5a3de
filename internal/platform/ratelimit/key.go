package ratelimit

import (
	"context"
	"net"
	"net/netip"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
)

// UnknownKey is the key of anonymous callers whose address is unknown (no
// peer, or a peer that is not an IP address, such as a Unix socket): they
// share one bucket.
const UnknownKey = "ip:unknown"

// Key returns the bucket key of the caller of ctx (a server call's
// context, after authentication) and whether the caller is anonymous:
//   - a principal's Key ("user:ID", "api_key:ID", …), not anonymous;
//   - else "ip:" and the peer's address, without the port, anonymous. An
//     IPv4-mapped IPv6 address counts as IPv4; an IPv6 address is keyed by
//     its /64 ("ip:2001:db8:1:2::/64"), since a subscriber holds a whole
//     /64 and could otherwise rotate addresses for fresh buckets. A peer
//     that is a trusted proxy (WithTrustedProxies) is replaced by the
//     address it forwards;
//   - UnknownKey, anonymous, when the address is unknown.
//
// Metadata a caller sends, such as x-forwarded-for, is never believed
// except from a trusted proxy.
func (l *Limiter) Key(ctx context.Context) (key string, anonymous bool) {
	if p := auth.PrincipalFrom(ctx); p != nil {
		return p.Key(), false
	}
	addr, ok := peerAddr(ctx)
	if !ok {
		return UnknownKey, true
	}
	if l.proxyHeader != "" && l.trusted(addr) {
		addr = l.forwardedClient(ctx, addr)
	}
	if addr.Is6() { // Unmap has made IPv4-mapped addresses IPv4
		return "ip:" + netip.PrefixFrom(addr, 64).Masked().String(), true
	}
	return "ip:" + addr.String(), true
}

// peerAddr returns the IP address of the call's peer, unmapped and without
// zone.
func peerAddr(ctx context.Context) (netip.Addr, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return netip.Addr{}, false
	}
	var ip net.IP
	switch a := p.Addr.(type) {
	case *net.TCPAddr:
		ip = a.IP
	case *net.UDPAddr:
		ip = a.IP
	default: // other net.Addr types may still print as host:port
		return parseAddr(p.Addr.String())
	}
	addr, ok := netip.AddrFromSlice(ip)
	return addr.Unmap(), ok
}

// parseAddr parses "addr" or "addr:port" ("[v6]:port"), unmapped and
// without zone.
func parseAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

func (l *Limiter) trusted(a netip.Addr) bool {
	a = a.WithZone("")
	for _, p := range l.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedClient returns the caller a trusted proxy forwards: walking the
// forwarded-for list from the right (the hop nearest the server), the
// first address that is not a trusted proxy. A malformed entry stops the
// walk at the last trusted hop; a list of trusted proxies only yields its
// leftmost address. Several header values read as one list, in order.
func (l *Limiter) forwardedClient(ctx context.Context, proxy netip.Addr) netip.Addr {
	values := metadata.ValueFromIncomingContext(ctx, l.proxyHeader)
	client := proxy
	for i := len(values) - 1; i >= 0; i-- {
		hops := strings.Split(values[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			a, ok := parseAddr(hops[j])
			if !ok {
				return client
			}
			client = a
			if !l.trusted(a) {
				return client
			}
		}
	}
	return client
}
