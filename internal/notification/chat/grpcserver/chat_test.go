package grpcserver_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	notificationv1 "github.com/bazaarhq/bazaar/gen/bazaar/notification/v1"
	"github.com/bazaarhq/bazaar/internal/notification/chat"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

func isPresence(joined bool) func(*notificationv1.ServerMessage) bool {
	return func(m *notificationv1.ServerMessage) bool {
		return m.GetPresence() != nil && m.GetPresence().GetJoined() == joined
	}
}

// Two customers and an agent: each customer sees only their own
// conversation; the agent joins one, and the other customer sees nothing
// of it.
func TestChatIsolation(t *testing.T) {
	t.Parallel()
	h := start(t, config{})
	cl := h.client(t)

	a := dialChat(t, cl, alice, open("order-a", 0)).receive()
	convA := a.joined().GetConversation()
	b := dialChat(t, cl, bob, open("order-b", 0)).receive()
	convB := b.joined().GetConversation()
	if convA.GetState() != notificationv1.ConversationState_CONVERSATION_STATE_WAITING || convA.GetCustomerId() != "u-alice" {
		t.Fatalf("alice's conversation = %v", convA)
	}

	// The queue: the agent sees both, each customer only their own.
	ctx, _ := callCtx(t, agent)
	q, err := cl.ListConversations(ctx, &notificationv1.ListConversationsRequest{
		State: notificationv1.ConversationState_CONVERSATION_STATE_WAITING, PageSize: 1})
	if err != nil || len(q.GetConversations()) != 1 || q.GetConversations()[0].GetId() != convA.GetId() || q.GetNextPageToken() == "" {
		t.Fatalf("agent ListConversations(page 1) = %v, %v", q, err)
	}
	q, err = cl.ListConversations(ctx, &notificationv1.ListConversationsRequest{
		State: notificationv1.ConversationState_CONVERSATION_STATE_WAITING, PageSize: 1, PageToken: q.GetNextPageToken()})
	if err != nil || len(q.GetConversations()) != 1 || q.GetConversations()[0].GetId() != convB.GetId() || q.GetNextPageToken() != "" {
		t.Fatalf("agent ListConversations(page 2) = %v, %v", q, err)
	}
	bctx, _ := callCtx(t, bob)
	own, err := cl.ListConversations(bctx, &notificationv1.ListConversationsRequest{})
	if err != nil || len(own.GetConversations()) != 1 || own.GetConversations()[0].GetId() != convB.GetId() {
		t.Fatalf("bob's ListConversations = %v, %v", own, err)
	}

	// Bob cannot join alice's conversation, nor learn that it exists.
	spy := dialChat(t, cl, bob, join(convA.GetId(), 0)).receive()
	wantCode(t, "bob joining alice's conversation", spy.end(), codes.NotFound, chat.ReasonConversationNotFound)
	ghost := dialChat(t, cl, bob, join("no-such-conversation", 0)).receive()
	wantCode(t, "bob joining nothing", ghost.end(), codes.NotFound, chat.ReasonConversationNotFound)

	// The agent joins alice's: alice sees the agent arrive.
	g := dialChat(t, cl, agent, join(convA.GetId(), 0)).receive()
	gj := g.joined()
	if gj.GetRole() != notificationv1.ParticipantRole_PARTICIPANT_ROLE_AGENT || len(gj.GetParticipants()) != 2 ||
		gj.GetConversation().GetState() != notificationv1.ConversationState_CONVERSATION_STATE_ACTIVE {
		t.Fatalf("agent joined = %v", gj)
	}
	if p := a.nextWhere(isPresence(true)).GetPresence().GetParticipant(); p.GetUserId() != "u-agent" {
		t.Fatalf("alice saw %v join, want the agent", p)
	}

	a.send(send("a1", "where is my parcel?"))
	a.send(typing())
	if m := g.message(); m.GetText() != "where is my parcel?" || m.GetSequence() != 1 || m.GetSender().GetUserId() != "u-alice" {
		t.Fatalf("agent got %v", m)
	}
	if m := a.message(); m.GetSequence() != 1 { // her own echo
		t.Fatalf("alice's echo = %v", m)
	}
	g.send(send("g1", "on its way"))
	if m := a.message(); m.GetText() != "on its way" || m.GetSequence() != 2 ||
		m.GetSender().GetRole() != notificationv1.ParticipantRole_PARTICIPANT_ROLE_AGENT {
		t.Fatalf("alice got %v", m)
	}

	// Bob saw nothing of it: his next event is his own first message.
	b.send(send("b1", "hello?"))
	if m := b.next(); m.GetMessage().GetText() != "hello?" || m.GetMessage().GetSequence() != 1 {
		t.Fatalf("bob's next event = %v, want only his own message", m)
	}
	b.quiet(50 * time.Millisecond)

	// Only users chat.
	svc := dialChat(t, cl, "service:order", open("order-a", 0)).receive()
	wantCode(t, "a service", svc.end(), codes.PermissionDenied, chat.ReasonUsersOnly)
}

// History is replayed on join and on resume after a sequence; a resend
// after a reconnect is not duplicated.
func TestChatHistoryReplayAndIdempotentResend(t *testing.T) {
	t.Parallel()
	h := start(t, config{cfg: chat.Config{HistoryPage: 2}}) // several pages
	cl := h.client(t)

	a := dialChat(t, cl, alice, open("order-1", 0)).receive()
	id := a.joined().GetConversation().GetId()
	for i := 1; i <= 5; i++ {
		a.send(send("m"+strconv.Itoa(i), text(i)))
		if m := a.message(); m.GetSequence() != int64(i) {
			t.Fatalf("echo %d has sequence %d", i, m.GetSequence())
		}
	}
	a.cancel()
	a.end()

	// The agent joining replays everything, in order.
	g := dialChat(t, cl, agent, join(id, 0)).receive()
	g.joined()
	for i := 1; i <= 5; i++ {
		if m := g.message(); m.GetSequence() != int64(i) || m.GetText() != text(i) {
			t.Fatalf("replay %d = %v", i, m)
		}
	}

	// Alice resumes after 3 (opening the same order again resumes it).
	a2 := dialChat(t, cl, alice, open("order-1", 3)).receive()
	if got := a2.joined().GetConversation().GetId(); got != id {
		t.Fatalf("reopened conversation %s, want %s", got, id)
	}
	for i := 4; i <= 5; i++ {
		if m := a2.message(); m.GetSequence() != int64(i) {
			t.Fatalf("resume got sequence %d, want %d", m.GetSequence(), i)
		}
	}
	// The resend of m5 (as after a reconnect that lost the echo) comes back
	// as the stored message, to alice only.
	a2.send(send("m5", "message 5 again"))
	if m := a2.message(); m.GetSequence() != 5 || m.GetText() != text(5) {
		t.Fatalf("resend answered %v, want the stored message 5", m)
	}
	a2.send(send("m6", text(6)))
	if m := g.message(); m.GetSequence() != 6 || m.GetText() != text(6) {
		t.Fatalf("agent's next message = %v, want 6 (no duplicate of 5)", m)
	}
	if m := a2.message(); m.GetSequence() != 6 {
		t.Fatalf("alice's echo = %v", m)
	}
	if c, _ := h.st.GetConversation(t.Context(), id); c.LastSequence != 6 {
		t.Fatalf("stored last sequence = %d, want 6", c.LastSequence)
	}

	// Out of turn and invalid messages end the stream.
	a2.send(join(id, 0))
	wantCode(t, "join twice", a2.end(), codes.FailedPrecondition, chat.ReasonProtocol)
	bad := dialChat(t, cl, alice, send("x", "hi")).receive()
	wantCode(t, "send first", bad.end(), codes.FailedPrecondition, chat.ReasonProtocol)
	empty := dialChat(t, cl, alice, send("", "")).receive()
	wantCode(t, "invalid send", empty.end(), codes.InvalidArgument, "")
}

// A client that cancels while sending: the handler exits, the hub forgets
// it, the others see it leave (goroutines: TestMain's goleak).
func TestChatDisconnectMidMessage(t *testing.T) {
	t.Parallel()
	h := start(t, config{})
	cl := h.client(t)
	a := dialChat(t, cl, alice, open("order-1", 0)).receive()
	id := a.joined().GetConversation().GetId()
	g := dialChat(t, cl, agent, join(id, 0)).receive()
	g.joined()
	a.nextWhere(isPresence(true))

	for i := range 20 {
		_ = a.stream.Send(send("m"+strconv.Itoa(i), strings.Repeat("x", 3000)))
		if i == 10 {
			a.cancel() // mid-stream of sends
		}
	}
	wantCode(t, "alice's cancelled stream", a.end(), codes.Canceled, "")
	left := g.nextWhere(isPresence(false)).GetPresence().GetParticipant()
	if left.GetUserId() != "u-alice" {
		t.Fatalf("left = %v, want alice", left)
	}
	waitFor(t, "the hub to forget alice", func() bool { return h.svc.Participants() == 1 })

	// A connection that resets (closed under an open stream): the same.
	cc := h.dial(t)
	b := dialChat(t, notificationv1.NewSupportServiceClient(cc), alice, join(id, 0)).receive()
	b.joined()
	g.nextWhere(isPresence(true))
	_ = cc.Close()
	g.nextWhere(isPresence(false))
	waitFor(t, "the hub to forget the reset connection", func() bool { return h.svc.Participants() == 1 })

	// What the agent got is in order and without gaps.
	g.cancel()
	g.end()
	waitFor(t, "the hub to be empty", func() bool { return h.svc.Participants() == 0 })
}

// A token that expires during the stream ends it UNAUTHENTICATED; the
// others see the participant leave.
func TestChatTokenExpiry(t *testing.T) {
	t.Parallel()
	h := start(t, config{})
	cl := h.client(t)
	a := dialChat(t, cl, alice, open("order-1", 0), testExpiresHeader, "1500ms").receive()
	id := a.joined().GetConversation().GetId()
	g := dialChat(t, cl, agent, join(id, 0)).receive()
	g.joined()
	a.send(send("m1", "hi"))
	g.message()
	wantCode(t, "alice's stream", a.end(), codes.Unauthenticated, "TOKEN_EXPIRED")
	g.nextWhere(isPresence(false))
	waitFor(t, "the hub to forget alice", func() bool { return h.svc.Participants() == 1 })
}

// A participant who stops reading is bounded: its queue never exceeds
// QueueSize, typing indicators are dropped for it, and past the bound its
// stream ends RESOURCE_EXHAUSTED with the last sequence delivered, from
// which it resumes without gap.
func TestChatSlowReaderBounded(t *testing.T) {
	t.Parallel()
	const queue = 16
	h := start(t, config{cfg: chat.Config{QueueSize: queue}})
	cl := h.client(t)
	// A small fixed window (no BDP growth), so that Send blocks soon.
	slowCl := h.client(t, grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))

	slow := dialChat(t, slowCl, alice, open("order-1", 0)) // not receiving
	first, err := slow.stream.Recv()
	if err != nil || first.GetJoined() == nil {
		t.Fatalf("Recv(joined) = %v, %v", first, err)
	}
	id := first.GetJoined().GetConversation().GetId()
	g := dialChat(t, cl, agent, join(id, 0)).receive()
	g.joined()

	big := strings.Repeat("x", 3000)
	const n = 200
	kickedAt := 0
	for i := 1; i <= n; i++ {
		g.send(typing())
		g.send(send("g"+strconv.Itoa(i), big))
		if kickedAt == 0 && h.svc.Participants() == 1 {
			kickedAt = i
		}
	}
	// Alice was removed; the agent's last message was processed.
	var sawLeft, sawLast bool
	for !sawLeft || !sawLast {
		m := g.next()
		sawLeft = sawLeft || isPresence(false)(m)
		sawLast = sawLast || m.GetMessage().GetSequence() == n
	}
	if hw := h.svc.QueueHighWater(); hw > queue {
		t.Fatalf("queue high water = %d, want <= %d", hw, queue)
	}
	t.Logf("removed after about %d messages; queue high water %d", kickedAt, h.svc.QueueHighWater())

	// Alice reads what reached her, then the end of the stream.
	slow.receive()
	var last int64
	var st errs.Details
	for done := false; !done; {
		select {
		case m, ok := <-slow.events:
			if !ok {
				st = errs.FromError(<-slow.err)
				done = true
				break
			}
			if msg := m.GetMessage(); msg != nil {
				if msg.GetSequence() != last+1 {
					t.Fatalf("sequence %d after %d", msg.GetSequence(), last)
				}
				last = msg.GetSequence()
			}
		case <-time.After(10 * time.Second):
			t.Fatal("slow stream did not end")
		}
	}
	wantCode(t, "the slow stream", st, codes.ResourceExhausted, chat.ReasonQueueFull)
	lastSeq, err := strconv.ParseInt(st.Metadata[chat.MetadataLastSequence], 10, 64)
	if err != nil || lastSeq < 1 || lastSeq > last || last-lastSeq > 1 {
		t.Fatalf("last_sequence = %q, got messages up to %d", st.Metadata[chat.MetadataLastSequence], last)
	}
	if last >= n {
		t.Fatalf("alice got all %d messages: the bound never applied", n)
	}

	// She resumes after the reported sequence and gets the rest, no gap.
	again := dialChat(t, cl, alice, join(id, lastSeq)).receive()
	again.joined()
	for want := lastSeq + 1; want <= n; want++ {
		if m := again.message(); m.GetSequence() != want {
			t.Fatalf("resume got %d, want %d", m.GetSequence(), want)
		}
	}
}

// Draining tells every participant to reconnect with its last sequence,
// then ends the stream UNAVAILABLE SERVER_DRAINING; the next server
// resumes the conversation from there.
func TestChatDrainTellsToReconnect(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	h := start(t, config{st: st})
	cl := h.client(t)
	a := dialChat(t, cl, alice, open("order-1", 0)).receive()
	id := a.joined().GetConversation().GetId()
	g := dialChat(t, cl, agent, join(id, 0)).receive()
	g.joined()
	a.send(send("m1", "one"))
	a.send(send("m2", "two"))
	g.message()
	g.message()
	a.message()
	a.message()

	h.stop()
	for _, c := range []*conn{a, g} {
		r := c.nextWhere(func(m *notificationv1.ServerMessage) bool { return m.GetReconnect() != nil }).GetReconnect()
		if r.GetLastSequence() != 2 {
			t.Fatalf("reconnect last_sequence = %d, want 2", r.GetLastSequence())
		}
		wantCode(t, "a drained stream", c.end(), codes.Unavailable, "SERVER_DRAINING")
	}

	// A new server over the same store: the agent resumes after 2.
	h2 := start(t, config{st: st})
	cl2 := h2.client(t)
	a2 := dialChat(t, cl2, alice, join(id, 2)).receive()
	a2.joined()
	a2.send(send("m3", "three"))
	if m := a2.message(); m.GetSequence() != 3 {
		t.Fatalf("after resume got %v, want sequence 3", m)
	}
	g2 := dialChat(t, cl2, agent, join(id, 2)).receive()
	g2.joined()
	if m := g2.message(); m.GetSequence() != 3 || m.GetText() != "three" {
		t.Fatalf("agent resumed with %v, want only message 3", m)
	}
}
