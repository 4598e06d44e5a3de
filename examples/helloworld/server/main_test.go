package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	helloworldv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestRun starts the program's run on a free loopback port, calls it over
// real TCP, then ends its context as SIGTERM would and expects a graceful,
// error-free exit.
func TestRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	p := start(ctx, t, "-addr", "127.0.0.1:0")

	cc, err := grpcx.NewClient(p.addr)
	if err != nil {
		t.Fatalf("grpcx.NewClient(%q) = %v", p.addr, err)
	}
	defer func() { _ = cc.Close() }()
	client := helloworldv1.NewGreeterServiceClient(cc)
	callCtx, callCancel := context.WithTimeout(ctx, 10*time.Second)
	defer callCancel()

	resp, err := client.SayHello(callCtx, &helloworldv1.SayHelloRequest{Name: "Ada"})
	if err != nil || resp.GetMessage() != "Hello, Ada!" {
		t.Errorf("client.SayHello(Ada) = %q, %v; want %q", resp.GetMessage(), err, "Hello, Ada!")
	}
	stream, err := client.SayHelloStream(callCtx, &helloworldv1.SayHelloStreamRequest{Name: "Ada", Count: 3})
	if err != nil {
		t.Fatalf("client.SayHelloStream() = %v", err)
	}
	var got int
	for {
		if _, err := stream.Recv(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Errorf("SayHelloStream Recv() = %v", err)
			}
			break
		}
		got++
	}
	if got != 3 {
		t.Errorf("client.SayHelloStream(count 3) sent %d greetings, want 3", got)
	}
	// A failed call is logged at Info: the text logger works.
	if _, err := client.SayHello(callCtx, &helloworldv1.SayHelloRequest{}); err == nil {
		t.Errorf("client.SayHello(empty name) = nil error, want InvalidArgument")
	}

	cancel() // what SIGINT or SIGTERM does through signal.NotifyContext
	if err := p.wait(t); err != nil {
		t.Errorf("run() = %v after its context ended, want nil (a graceful stop)", err)
	}
	out := p.output()
	for _, want := range []string{"level=INFO msg=rpc", "code=InvalidArgument", "stopped gracefully"} {
		if !strings.Contains(out, want) {
			t.Errorf("run() output = %q, want it to contain %q", out, want)
		}
	}
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	var lc net.ListenConfig
	busy, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = busy.Close() }) // not defer: the parallel subtests run after this function returns
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"-port", "1"}, "flag provided but not defined"},
		{"extra argument", []string{"-addr", "127.0.0.1:0", "now"}, "unexpected arguments"},
		{"address in use", []string{"-addr", busy.Addr().String()}, "address already in use"},
		{"bad address", []string{"-addr", "no-port"}, "missing port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A deadline, so that a run which wrongly starts serving fails
			// the test instead of hanging it.
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			err := run(ctx, tt.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
}

// program is run running in the background.
type program struct {
	addr   string
	done   chan error
	mu     sync.Mutex
	out    strings.Builder
	closed chan struct{}
	w      *io.PipeWriter
}

// start runs the program with args and waits for it to print its address.
func start(ctx context.Context, t *testing.T, args ...string) *program {
	t.Helper()
	r, w := io.Pipe()
	p := &program{done: make(chan error, 1), closed: make(chan struct{}), w: w}
	go func() { p.done <- run(ctx, args, w) }()

	addrc := make(chan string, 1)
	go func() {
		defer close(p.closed)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := sc.Text()
			if addr, ok := strings.CutPrefix(line, "listening on "); ok {
				addrc <- addr
			}
			p.mu.Lock()
			p.out.WriteString(line + "\n")
			p.mu.Unlock()
		}
		close(addrc)
	}()

	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case addr, ok := <-addrc:
		if !ok {
			t.Fatal("run() closed its output without printing its address")
		}
		p.addr = addr
	case err := <-p.done:
		_ = w.Close()
		t.Fatalf("run(%q) = %v before listening", args, err)
	case <-timer.C:
		t.Fatalf("run(%q) printed no address within 10s", args)
	}
	return p
}

// wait returns run's result, failing the test if it takes over 10 s.
func (p *program) wait(t *testing.T) error {
	t.Helper()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case err := <-p.done:
		_ = p.w.Close()
		<-p.closed
		return err
	case <-timer.C:
		t.Fatal("run() did not return within 10s of its context ending")
		return nil
	}
}

func (p *program) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}
