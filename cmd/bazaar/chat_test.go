package main

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/bazaarhq/bazaar/internal/notification/chat"
	chatgrpc "github.com/bazaarhq/bazaar/internal/notification/chat/grpcserver"
	chatstore "github.com/bazaarhq/bazaar/internal/notification/chat/store"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// bearerTestAuthorizer is TEST SUPPORT, not the production authenticator:
// the bearer token is the user itself, "ID:role,role", trusted as is.
type bearerTestAuthorizer struct{}

func (bearerTestAuthorizer) Authorize(ctx context.Context, method string, policy *auth.Policy) (context.Context, error) {
	var p *auth.Principal
	if v := metadata.ValueFromIncomingContext(ctx, "authorization"); len(v) == 1 {
		id, roles, _ := strings.Cut(strings.TrimPrefix(v[0], "Bearer "), ":")
		p = &auth.Principal{Kind: auth.User, Subject: id, Roles: strings.Split(roles, ",")}
	}
	if !p.Admits(policy) {
		return ctx, errs.New(errs.Unauthenticated, "CREDENTIALS_REQUIRED", "this method needs credentials")
	}
	if p != nil {
		ctx = auth.WithPrincipal(ctx, p)
	}
	return ctx, nil
}

// startChatServer serves the support chat on a loopback port (not `bazaar
// up`, which does not run it yet) and returns its address.
func startChatServer(t *testing.T) string {
	t.Helper()
	st, err := chatstore.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc, err := chat.New(st, chat.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := grpcx.NewServer(grpcx.WithAuthorizer(bearerTestAuthorizer{}), grpcx.WithShutdownGrace(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	chatgrpc.Register(srv, svc)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve() = %v", err)
		}
	})
	return lis.Addr().String()
}

// chatProcess is a running `bazaar chat` with a pipe as stdin.
type chatProcess struct {
	t     *testing.T
	stdin *io.PipeWriter
	out   *syncBuffer
	done  chan error
}

func startChat(t *testing.T, args ...string) *chatProcess {
	t.Helper()
	r, w := io.Pipe()
	p := &chatProcess{t: t, stdin: w, out: &syncBuffer{}, done: make(chan error, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	go func() {
		p.done <- chatCommand(ctx, args, func(string) string { return "" }, r, p.out)
		cancel()
	}()
	t.Cleanup(func() { _ = w.Close(); cancel() })
	return p
}

func (p *chatProcess) say(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatalf("writing stdin: %v", err)
	}
}

// waitOutput waits until the output matches re and returns the match.
func (p *chatProcess) waitOutput(re string) []string {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if m := rx.FindStringSubmatch(p.out.String()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("output never matched %q:\n%s", re, p.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// quit closes stdin and waits for the command to end.
func (p *chatProcess) quit() {
	p.t.Helper()
	_ = p.stdin.Close()
	select {
	case err := <-p.done:
		if err != nil {
			p.t.Fatalf("bazaar chat = %v\n%s", err, p.out.String())
		}
	case <-time.After(5 * time.Second):
		p.t.Fatal("bazaar chat did not end after stdin closed")
	}
}

// A customer and an agent chat through `bazaar chat`, each with a pipe as
// stdin, as in two terminals.
func TestChatCommand(t *testing.T) {
	t.Parallel()
	addr := startChatServer(t)

	customer := startChat(t, "--addr", addr, "--token", "u-alice:customer", "--order", "o-42")
	id := customer.waitOutput(`\* conversation (\S+) about order o-42 \(waiting\) as customer`)[1]
	customer.say("where is my parcel?")
	customer.waitOutput(`\[1 \d\d:\d\d\] u-alice \(customer\): where is my parcel\?`)

	var list syncBuffer
	if err := chatCommand(t.Context(), []string{"--addr", addr, "--token", "u-agent:support", "--list"},
		func(string) string { return "" }, strings.NewReader(""), &list); err != nil {
		t.Fatalf("bazaar chat --list = %v", err)
	}
	if !strings.Contains(list.String(), id+"  order o-42  customer u-alice  waiting  1 messages") {
		t.Fatalf("bazaar chat --list printed:\n%s", list.String())
	}

	agent := startChat(t, "--addr", addr, "--token", "u-agent:support", "--join", id)
	agent.waitOutput(`as agent`)
	agent.waitOutput(`\[1 \d\d:\d\d\] u-alice \(customer\): where is my parcel\?`) // the history
	customer.waitOutput(`\* u-agent \(agent\) joined`)
	agent.say("it ships today")
	customer.waitOutput(`\[2 \d\d:\d\d\] u-agent \(agent\): it ships today`)
	customer.quit()
	agent.waitOutput(`\* u-alice \(customer\) left`)
	agent.quit()

	// Flags are checked.
	var out syncBuffer
	if err := chatCommand(t.Context(), []string{"--order", "x", "--list"}, func(string) string { return "" },
		strings.NewReader(""), &out); err == nil {
		t.Fatal("bazaar chat --order --list succeeded")
	}
}

// TestUpChat: with `bazaar up`, a customer opens a conversation about an
// order with real credentials and the admin (an agent) joins it, both
// through `bazaar chat`; another customer cannot join it.
func TestUpChat(t *testing.T) {
	t.Parallel()
	const adminPassword = "admin password 4 tests"
	addrs, stop := startUp(t, "--admin-password", adminPassword)
	s := openShop(t, addrs, adminPassword)
	adminToken := metadata.ValueFromOutgoingContext(s.admin, "authorization")[0]
	alice := signUp(t, s.id, "alice-chat@example.com")
	addr := addrs["notification"]

	customer := startChat(t, "--addr", addr, "--token", alice, "--order", "o-7")
	id := customer.waitOutput(`\* conversation (\S+) about order o-7 \(waiting\) as customer`)[1]
	customer.say("my parcel is late")
	customer.waitOutput(`\[1 \d\d:\d\d\] \S+ \(customer\): my parcel is late`)

	agent := startChat(t, "--addr", addr, "--token", strings.TrimPrefix(adminToken, "Bearer "), "--join", id)
	agent.waitOutput(`\[1 \d\d:\d\d\] \S+ \(customer\): my parcel is late`)
	agent.say("sorry, it leaves today")
	customer.waitOutput(`\[2 \d\d:\d\d\] \S+ \(agent\): sorry, it leaves today`)

	bob := signUp(t, s.id, "bob-chat@example.com")
	var out syncBuffer
	err := chatCommand(t.Context(), []string{"--addr", addr, "--token", bob, "--join", id}, func(string) string { return "" },
		strings.NewReader(""), &out)
	if err == nil || !strings.Contains(err.Error(), "NotFound") {
		t.Errorf("bazaar chat --join (another customer's conversation) = %v, want NotFound\n%s", err, out.String())
	}
	customer.quit()
	agent.quit()
	if err := stop(); err != nil {
		t.Errorf("run(up) after cancel = %v", err)
	}
}
