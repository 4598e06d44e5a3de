package scenarios_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/stats"

	"github.com/bazaarhq/bazaar/internal/bench"
	"github.com/bazaarhq/bazaar/internal/bench/scenarios"
)

// TestEchoSpreadsOverConns: with Env.Conns 4, echo dials its server four
// times and its 8 workers call on all four connections.
func TestEchoSpreadsOverConns(t *testing.T) {
	t.Parallel()
	for _, conns := range []int{0, 1, 4} {
		var calls []*atomic.Int64
		env := scenarios.Env{
			Workers: 8, Conns: conns,
			DialEcho: func(addr string) (*grpc.ClientConn, error) {
				n := &atomic.Int64{}
				calls = append(calls, n)
				return grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithStatsHandler(rpcCounter{n}))
			},
		}
		s, err := scenarios.New(t.Context(), "echo", env)
		if err != nil {
			t.Fatalf("scenarios.New(echo, Conns %d) = %v", conns, err)
		}
		res, err := bench.Run(t.Context(), s, bench.Config{Requests: 400, Concurrency: 8, Timeout: 10 * time.Second})
		if cerr := s.Close(); cerr != nil {
			t.Errorf("Close() = %v", cerr)
		}
		if err != nil || res.ErrorCount() != 0 {
			t.Fatalf("bench.Run(echo, Conns %d) = %v, errors %v", conns, err, res.Errors)
		}
		if want := max(conns, 1); len(calls) != want {
			t.Errorf("Conns %d: echo dialled %d connections, want %d", conns, len(calls), want)
		}
		for i, n := range calls {
			if n.Load() == 0 {
				t.Errorf("Conns %d: connection %d carried no call, want the workers spread over all", conns, i)
			}
		}
	}
}

// rpcCounter counts the RPCs begun on a connection.
type rpcCounter struct{ n *atomic.Int64 }

func (rpcCounter) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }

func (c rpcCounter) HandleRPC(_ context.Context, s stats.RPCStats) {
	if _, ok := s.(*stats.Begin); ok {
		c.n.Add(1)
	}
}

func (rpcCounter) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (rpcCounter) HandleConn(context.Context, stats.ConnStats)                       {}
