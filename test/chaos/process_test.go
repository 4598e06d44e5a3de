package chaos

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// adminPassword is the bootstrap admin's password in every data dir.
const adminPassword = "admin password 4 chaos tests"

var (
	// binDir holds the bazaar binary built for this run (TestMain).
	binDir    string
	buildOnce sync.Once
	errBuild  error
	buildOut  []byte
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bazaar-chaos-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// bazaarBinary builds cmd/bazaar once per test binary (the go command's
// cache, GOCACHE from the environment, makes it quick after the first
// time) and returns its path. A failed build fails the test.
func bazaarBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(binDir, "bazaar")
	buildOnce.Do(func() {
		// `go test` puts its own toolchain first on PATH.
		cmd := exec.Command("go", "build", "-o", bin, "github.com/bazaarhq/bazaar/cmd/bazaar")
		buildOut, errBuild = cmd.CombinedOutput()
	})
	if errBuild != nil {
		t.Fatalf("go build cmd/bazaar: %v\n%s", errBuild, buildOut)
	}
	return bin
}

// syncBuffer is an output buffer the child's output copier writes while
// the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tail is the end of s, at most n bytes.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

// process is one `bazaar up` child process.
type process struct {
	t      *testing.T
	name   string // for messages: "run 1 (after-reserve)"
	cmd    *exec.Cmd
	stdout syncBuffer
	stderr syncBuffer
	exited chan struct{} // closed when Wait returned
	err    error         // Wait's result, set before exited is closed
	addrs  map[string]string
	conns  []*grpc.ClientConn
}

var listenerRow = regexp.MustCompile(`(?m)^(\w+)\s+(?:http://)?(127\.0\.0\.1:\d+)\s`)

// startUp starts `bazaar up` on dataDir with the given failpoints armed
// (none if empty) and waits for its listener table. The process never
// outlives the test: a cleanup kills it, and logs its output if the test
// failed.
func startUp(t *testing.T, name, dataDir, failpoints string) *process {
	t.Helper()
	args := []string{"up", "--data-dir", dataDir, "--base-port", "0", "--admin-addr", "127.0.0.1:0",
		"--admin-password", adminPassword, "--rate-limit", "1000/10000", "--anonymous-rate-limit", "1000/10000"}
	if failpoints != "" {
		args = append(args, "--failpoints", failpoints)
	}
	p := &process{t: t, name: name, exited: make(chan struct{})}
	p.cmd = exec.Command(bazaarBinary(t), args...)
	// The flags say everything: no BAZAAR_* variable of the caller's
	// environment may change the setup.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BAZAAR_") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.cmd.SysProcAttr = dieWithParent()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: start bazaar up: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.closeConns()
		if p.running() {
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("%s: bazaar up %s\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "),
				tail(p.stdout.String(), 4000), tail(p.stderr.String(), 8000))
		}
	})
	if !p.waitOutput("data dir:", 30*time.Second) {
		t.Fatalf("%s: bazaar up printed no listener table in 30s (exited: %v)", name, p.exitErr())
	}
	p.addrs = map[string]string{}
	for _, m := range listenerRow.FindAllStringSubmatch(p.stdout.String(), -1) {
		p.addrs[m[1]] = m[2]
	}
	for _, svc := range []string{"identity", "catalog", "order"} {
		if p.addrs[svc] == "" {
			t.Fatalf("%s: no %s listener in the table:\n%s", name, svc, p.stdout.String())
		}
	}
	return p
}

// exitErr describes how the process ended, "no" while it runs.
func (p *process) exitErr() string {
	if p.running() {
		return "no"
	}
	return fmt.Sprintf("yes, %v", p.err)
}

func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// waitOutput waits until stdout contains s, the process exits or d
// passes; it reports whether s appeared.
func (p *process) waitOutput(s string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if strings.Contains(p.stdout.String(), s) {
			return true
		}
		if !p.running() || time.Now().After(deadline) {
			return strings.Contains(p.stdout.String(), s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFailpoint waits for the line the armed failpoint name prints when the
// saga pauses there.
func (p *process) waitFailpoint(name string, d time.Duration) {
	p.t.Helper()
	if !p.waitOutput("failpoint "+name+" reached", d) {
		p.t.Fatalf("%s: failpoint %s not reached in %v (exited: %v)", p.name, name, d, p.exitErr())
	}
}

// kill ends the process with SIGKILL, a crash, and waits for it.
func (p *process) kill() {
	p.t.Helper()
	p.closeConns()
	if err := p.cmd.Process.Kill(); err != nil && p.running() {
		p.t.Fatalf("%s: kill: %v", p.name, err)
	}
	<-p.exited
}

// stop interrupts the process (as Ctrl-C) and waits for a clean exit, so
// that its databases are quiescent.
func (p *process) stop() {
	p.t.Helper()
	p.closeConns()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil && p.running() {
		p.t.Fatalf("%s: interrupt: %v", p.name, err)
	}
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		p.t.Fatalf("%s: bazaar up still running 30s after an interrupt", p.name)
	}
	if p.err != nil {
		p.t.Errorf("%s: bazaar up exited with %v after an interrupt, want a clean exit", p.name, p.err)
	}
}

// dial returns a client connection to service svc of the process, closed
// when the process is killed or stopped.
func (p *process) dial(svc string) *grpc.ClientConn {
	p.t.Helper()
	cc, err := grpc.NewClient(p.addrs[svc], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		p.t.Fatalf("%s: dial %s: %v", p.name, svc, err)
	}
	p.conns = append(p.conns, cc)
	return cc
}

func (p *process) closeConns() {
	for _, cc := range p.conns {
		_ = cc.Close()
	}
	p.conns = nil
}

// callCtx is a context for one call: bounded, and carrying the caller's
// bearer token when not empty.
func callCtx(t *testing.T, token string, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	if token != "" {
		ctx = bearer(ctx, token)
	}
	return ctx, cancel
}
