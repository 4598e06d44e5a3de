package grpcx

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// Limits are a server's transport limits. grpc-go's own defaults are too
// open for a public service (unbounded streams per connection, no
// connection age); DefaultLimits holds the values RELIABILITY.md asks for.
type Limits struct {
	// MaxConcurrentStreams caps streams per HTTP/2 connection (the Rapid
	// Reset defence). Default 256.
	MaxConcurrentStreams uint32
	// MaxRecvMsgSize and MaxSendMsgSize cap one message. Default 4 MiB;
	// larger payloads stream in chunks. An oversized request is answered
	// RESOURCE_EXHAUSTED before any handler runs.
	MaxRecvMsgSize int
	MaxSendMsgSize int
	// MaxHeaderListSize caps a request's metadata. Default 16 KiB.
	MaxHeaderListSize uint32
	// ConnectionTimeout bounds the connection handshake. Default 10 s.
	ConnectionTimeout time.Duration
	// KeepaliveMinTime is the shortest client ping interval tolerated; a
	// client pinging faster gets GOAWAY too_many_pings. Default 15 s.
	KeepaliveMinTime time.Duration
	// KeepaliveTime and KeepaliveTimeout are the server's own pings to
	// detect dead clients. Defaults 2 m and 20 s.
	KeepaliveTime    time.Duration
	KeepaliveTimeout time.Duration
	// MaxConnectionIdle closes connections idle this long. Default 5 m.
	MaxConnectionIdle time.Duration
	// MaxConnectionAge (plus MaxConnectionAgeGrace for in-flight calls)
	// recycles every connection, so clients rebalance and re-handshake
	// certificates. Defaults 30 m and 2 m.
	MaxConnectionAge      time.Duration
	MaxConnectionAgeGrace time.Duration
}

// DefaultLimits returns the limits of RELIABILITY.md.
func DefaultLimits() Limits {
	return Limits{
		MaxConcurrentStreams:  256,
		MaxRecvMsgSize:        4 << 20,
		MaxSendMsgSize:        4 << 20,
		MaxHeaderListSize:     16 << 10,
		ConnectionTimeout:     10 * time.Second,
		KeepaliveMinTime:      15 * time.Second,
		KeepaliveTime:         2 * time.Minute,
		KeepaliveTimeout:      20 * time.Second,
		MaxConnectionIdle:     5 * time.Minute,
		MaxConnectionAge:      30 * time.Minute,
		MaxConnectionAgeGrace: 2 * time.Minute,
	}
}

func (l Limits) serverOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxConcurrentStreams(l.MaxConcurrentStreams),
		grpc.MaxRecvMsgSize(l.MaxRecvMsgSize),
		grpc.MaxSendMsgSize(l.MaxSendMsgSize),
		grpc.MaxHeaderListSize(l.MaxHeaderListSize),
		grpc.ConnectionTimeout(l.ConnectionTimeout),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             l.KeepaliveMinTime,
			PermitWithoutStream: true,
		}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle:     l.MaxConnectionIdle,
			MaxConnectionAge:      l.MaxConnectionAge,
			MaxConnectionAgeGrace: l.MaxConnectionAgeGrace,
			Time:                  l.KeepaliveTime,
			Timeout:               l.KeepaliveTimeout,
		}),
	}
}
