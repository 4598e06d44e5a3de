package chat_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/notification/chat"
	"github.com/bazaarhq/bazaar/internal/notification/chat/store"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

var (
	alice = &auth.Principal{Kind: auth.User, Subject: "alice", Roles: []string{"customer"}}
	bob   = &auth.Principal{Kind: auth.User, Subject: "bob", Roles: []string{"customer"}}
	agent = &auth.Principal{Kind: auth.User, Subject: "agent", Roles: []string{"support"}}
)

func newService(t *testing.T, cfg chat.Config) *chat.Service {
	t.Helper()
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc, err := chat.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func next(t *testing.T, ss *chat.Session) chat.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	ev, err := ss.Next(ctx)
	if err != nil {
		t.Fatalf("Next() = %v", err)
	}
	return ev
}

// A participant who does not read: typing indicators are dropped once its
// queue is half full, the queue never exceeds QueueSize, and the next
// event past it removes the participant (ErrQueueFull), which the others
// see as leaving.
func TestChatSlowParticipantBounded(t *testing.T) {
	t.Parallel()
	const size = 8
	svc := newService(t, chat.Config{QueueSize: size})
	ctx := t.Context()
	slow, err := svc.Open(ctx, alice, "o1", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Leave()
	ag, err := svc.Join(ctx, agent, slow.Conversation().ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ag.Leave()
	// Alice's queue holds the agent's arrival, then the messages.
	for i := range size/2 - 1 {
		if _, err := ag.Send(ctx, fmt.Sprint("m", i), "x"); err != nil {
			t.Fatal(err)
		}
		if ev := next(t, ag); ev.Kind != chat.EventMessage { // the agent reads its echo
			t.Fatalf("agent got %+v", ev)
		}
	}
	ag.Typing() // dropped: alice's queue is half full
	for i := size/2 - 1; i < size-1; i++ {
		if _, err := ag.Send(ctx, fmt.Sprint("m", i), "x"); err != nil {
			t.Fatal(err)
		}
		if ev := next(t, ag); ev.Kind != chat.EventMessage { // the agent reads its echo
			t.Fatalf("agent got %+v", ev)
		}
	}
	if hw := svc.QueueHighWater(); hw != size {
		t.Fatalf("high water = %d, want %d", hw, size)
	}
	select {
	case <-slow.Done():
		t.Fatal("removed before the queue overflowed")
	default:
	}
	if _, err := ag.Send(ctx, "overflow", "x"); err != nil {
		t.Fatal(err)
	}
	<-slow.Done()
	if !errors.Is(slow.Err(), chat.ErrQueueFull) {
		t.Fatalf("Err() = %v, want ErrQueueFull", slow.Err())
	}
	if _, err := slow.Next(ctx); !errors.Is(err, chat.ErrQueueFull) {
		t.Fatalf("Next() = %v, want ErrQueueFull", err)
	}
	if hw := svc.QueueHighWater(); hw > size {
		t.Fatalf("high water = %d, want <= %d", hw, size)
	}
	// The agent sees its last message and alice leave (in either order:
	// alice may be removed while the message is fanned out).
	var gotMsg, gotLeft bool
	for range 2 {
		switch ev := next(t, ag); {
		case ev.Kind == chat.EventMessage && ev.Message.ClientMessageID == "overflow":
			gotMsg = true
		case ev.Kind == chat.EventPresence && !ev.Joined && ev.Participant.UserID == "alice":
			gotLeft = true
		default:
			t.Fatalf("agent got %+v", ev)
		}
	}
	if !gotMsg || !gotLeft {
		t.Fatalf("agent saw its message %v, alice leave %v", gotMsg, gotLeft)
	}
	if svc.Participants() != 1 {
		t.Fatalf("Participants() = %d, want 1", svc.Participants())
	}
}

// Concurrent senders: every participant sees every message once, in
// sequence order.
func TestChatOrderingUnderConcurrentSends(t *testing.T) {
	t.Parallel()
	svc := newService(t, chat.Config{QueueSize: 1000})
	ctx := t.Context()
	a, err := svc.Open(ctx, alice, "o1", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Leave()
	g, err := svc.Join(ctx, agent, a.Conversation().ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Leave()
	const n = 50
	var wg sync.WaitGroup
	for _, ss := range []*chat.Session{a, g} {
		wg.Go(func() {
			for i := range n {
				if _, err := ss.Send(ctx, fmt.Sprint(ss.Me().UserID, i), "x"); err != nil {
					t.Errorf("Send() = %v", err)
				}
			}
		})
	}
	wg.Wait()
	for _, ss := range []*chat.Session{a, g} {
		var last int64
		for last < 2*n {
			ev := next(t, ss)
			if ev.Kind != chat.EventMessage {
				continue
			}
			if ev.Message.Sequence != last+1 {
				t.Fatalf("%s: sequence %d after %d", ss.Me().UserID, ev.Message.Sequence, last)
			}
			last = ev.Message.Sequence
		}
	}
}

func TestChatAuthorization(t *testing.T) {
	t.Parallel()
	svc := newService(t, chat.Config{})
	ctx := t.Context()
	a, err := svc.Open(ctx, alice, "o1", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Leave()
	id := a.Conversation().ID
	if _, err := svc.Join(ctx, bob, id, 0); errs.KindOfError(err) != errs.NotFound {
		t.Fatalf("bob Join(alice's) = %v, want NOT_FOUND", err)
	}
	if _, err := svc.GetConversation(ctx, bob, id); errs.KindOfError(err) != errs.NotFound {
		t.Fatalf("bob GetConversation(alice's) = %v, want NOT_FOUND", err)
	}
	key := &auth.Principal{Kind: auth.APIKey, Subject: "alice", Scopes: []string{"x"}}
	if _, err := svc.Open(ctx, key, "o1", 0); errs.KindOfError(err) != errs.PermissionDenied {
		t.Fatalf("API key Open() = %v, want PERMISSION_DENIED", err)
	}
	if _, err := svc.ListConversations(ctx, alice, chat.ListRequest{PageToken: "garbage"}); errs.KindOfError(err) != errs.InvalidArgument {
		t.Fatalf("ListConversations(bad token) = %v, want INVALID_ARGUMENT", err)
	}
	page, err := svc.ListConversations(ctx, bob, chat.ListRequest{})
	if err != nil || len(page.Conversations) != 0 {
		t.Fatalf("bob's list = %v, %v; want empty", page, err)
	}
	if _, err := chat.New(nil, chat.Config{}); err == nil {
		t.Fatal("New(nil) succeeded")
	}
	if _, err := chat.New(&fakeStore{}, chat.Config{QueueSize: 1}); err == nil {
		t.Fatal("New(QueueSize 1) succeeded")
	}
}

type fakeStore struct{ chat.Store }
