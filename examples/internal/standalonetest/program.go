package standalonetest

import (
	"bufio"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// waitTimeout bounds each wait for a program, so that a hang fails the test
// instead of waiting for go test's global timeout.
const waitTimeout = 10 * time.Second

// Program is a program's run function running in the background, started
// by Start.
type Program struct {
	// Addr is the address the program listens on, as it printed it:
	// "listening on ADDR".
	Addr string

	args   []string
	cancel context.CancelFunc
	done   chan struct{} // closed when run has returned, err set
	err    error
	w      *io.PipeWriter // run's stdout
	read   chan struct{}  // closed when all of run's output is read

	mu      sync.Mutex
	out     strings.Builder
	stopped bool
}

// Start calls run(ctx, args, stdout) in the background and waits, up to
// 10 s, for it to print "listening on ADDR". ctx ends when Stop is called
// or when the test ends; the test's cleanup calls Stop. Start fails the
// test if run returns, or prints nothing more, before printing an address.
func Start(t *testing.T, run func(ctx context.Context, args []string, stdout io.Writer) error, args ...string) *Program {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	r, w := io.Pipe()
	p := &Program{args: args, cancel: cancel, done: make(chan struct{}), w: w, read: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.err = run(ctx, args, w)
	}()
	t.Cleanup(func() { p.Stop(t) })

	addrc := make(chan string, 1)
	go func() {
		defer close(p.read)
		found := false
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := sc.Text()
			if addr, ok := strings.CutPrefix(line, "listening on "); ok && !found {
				found = true
				addrc <- addr
			}
			p.mu.Lock()
			p.out.WriteString(line + "\n")
			p.mu.Unlock()
		}
		close(addrc)
		// Past a line too long to scan, so that run never blocks writing.
		_, _ = io.Copy(io.Discard, r)
	}()

	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	select {
	case addr, ok := <-addrc:
		if !ok {
			t.Fatalf("run(%q) closed its output without printing its address", args)
		}
		p.Addr = addr
	case <-p.done:
		p.markStopped()
		cancel()
		_ = w.Close()
		t.Fatalf("run(%q) = %v before listening", args, p.err)
	case <-timer.C:
		t.Fatalf("run(%q) printed no address within %v", args, waitTimeout)
	}
	return p
}

// Stop ends run's context, as SIGINT or SIGTERM does through
// signal.NotifyContext, waits for run to return and all its output to be
// read, and fails the test unless run returned nil (a graceful stop) within
// 10 s. Only the first call does anything.
func (p *Program) Stop(t *testing.T) {
	t.Helper()
	if !p.markStopped() {
		return
	}
	p.cancel()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	select {
	case <-p.done:
		_ = p.w.Close()
		<-p.read
		if p.err != nil {
			t.Errorf("run(%q) = %v after its context ended, want nil (a graceful stop)", p.args, p.err)
		}
	case <-timer.C:
		t.Errorf("run(%q) did not return within %v of its context ending", p.args, waitTimeout)
	}
}

// markStopped records that the program is stopped and reports whether it
// was not already.
func (p *Program) markStopped() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	first := !p.stopped
	p.stopped = true
	return first
}

// Output returns what run has printed so far, every line ending in "\n";
// after Stop, all of it.
func (p *Program) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Dial returns a connection to the program built by grpcx.NewClient. The
// test's cleanup closes it, before it stops the program.
func (p *Program) Dial(t *testing.T) *grpc.ClientConn {
	t.Helper()
	cc, err := grpcx.NewClient(p.Addr)
	if err != nil {
		t.Fatalf("grpcx.NewClient(%q) = %v", p.Addr, err)
	}
	t.Cleanup(func() {
		if err := cc.Close(); err != nil {
			t.Errorf("ClientConn.Close() = %v", err)
		}
	})
	return cc
}
