package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/notification/chat"
	"github.com/bazaarhq/bazaar/internal/notification/chat/store"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb/sqldbtest"
)

func TestChatStoreContractSQLite(t *testing.T) {
	t.Parallel()
	testContract(t, sqldbtest.SQLite())
}

func TestChatStoreContractPostgres(t *testing.T) {
	t.Parallel()
	testContract(t, sqldbtest.Postgres(t))
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

func open(t *testing.T, b sqldbtest.Backend) *store.Store {
	t.Helper()
	tg := b.Fresh(t, "chat")
	st, err := store.Open(t.Context(), tg.URL, tg.Options...)
	if err != nil {
		t.Fatalf("store.Open() = %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return st
}

func conv(id, customer, order string, at time.Time) chat.Conversation {
	return chat.Conversation{ID: id, CustomerID: customer, OrderID: order, State: chat.StateWaiting, CreateTime: at, UpdateTime: at}
}

func testContract(t *testing.T, b sqldbtest.Backend) {
	t.Run("OpenConversationIsIdempotentPerOrder", func(t *testing.T) {
		t.Parallel()
		st := open(t, b)
		ctx := t.Context()
		c, created, err := st.OpenConversation(ctx, conv("c1", "alice", "o1", t0))
		if err != nil || !created || c.ID != "c1" || c.State != chat.StateWaiting {
			t.Fatalf("OpenConversation() = %+v, %v, %v", c, created, err)
		}
		again, created, err := st.OpenConversation(ctx, conv("c2", "alice", "o1", t0.Add(time.Second)))
		if err != nil || created || again.ID != "c1" {
			t.Fatalf("OpenConversation(again) = %+v, %v, %v; want c1, not created", again, created, err)
		}
		got, err := st.GetConversation(ctx, "c1")
		if err != nil || got != c {
			t.Fatalf("GetConversation() = %+v, %v; want %+v", got, err, c)
		}
		if _, err := st.GetConversation(ctx, "nope"); !errors.Is(err, chat.ErrNotFound) {
			t.Fatalf("GetConversation(nope) = %v, want ErrNotFound", err)
		}
	})
	t.Run("AssignAgentOnce", func(t *testing.T) {
		t.Parallel()
		st := open(t, b)
		ctx := t.Context()
		mustOpen(t, st, conv("c1", "alice", "o1", t0))
		c, err := st.AssignAgent(ctx, "c1", "agent1", t0.Add(time.Minute))
		if err != nil || c.State != chat.StateActive || c.AgentID != "agent1" || !c.UpdateTime.Equal(t0.Add(time.Minute)) {
			t.Fatalf("AssignAgent() = %+v, %v", c, err)
		}
		c, err = st.AssignAgent(ctx, "c1", "agent2", t0.Add(2*time.Minute))
		if err != nil || c.AgentID != "agent1" {
			t.Fatalf("AssignAgent(second) = %+v, %v; want agent1 kept", c, err)
		}
		if _, err := st.AssignAgent(ctx, "nope", "a", t0); !errors.Is(err, chat.ErrNotFound) {
			t.Fatalf("AssignAgent(nope) = %v, want ErrNotFound", err)
		}
	})
	t.Run("MessagesSequencedAndIdempotent", func(t *testing.T) {
		t.Parallel()
		st := open(t, b)
		ctx := t.Context()
		mustOpen(t, st, conv("c1", "alice", "o1", t0))
		msg := func(sender, id, text string) chat.Message {
			return chat.Message{ConversationID: "c1", SenderID: sender, SenderRole: chat.RoleCustomer, ClientMessageID: id, Text: text, CreateTime: t0}
		}
		m1, created, err := st.AppendMessage(ctx, msg("alice", "m1", "hello"))
		if err != nil || !created || m1.Sequence != 1 {
			t.Fatalf("AppendMessage() = %+v, %v, %v", m1, created, err)
		}
		dup, created, err := st.AppendMessage(ctx, msg("alice", "m1", "hello again"))
		if err != nil || created || dup != m1 {
			t.Fatalf("AppendMessage(resend) = %+v, %v, %v; want %+v, not created", dup, created, err, m1)
		}
		// Another sender may reuse the id.
		m2, created, err := st.AppendMessage(ctx, msg("bob", "m1", "hi"))
		if err != nil || !created || m2.Sequence != 2 {
			t.Fatalf("AppendMessage(bob) = %+v, %v, %v; want sequence 2 (no gap after the resend)", m2, created, err)
		}
		if _, _, err := st.AppendMessage(ctx, chat.Message{ConversationID: "nope", SenderID: "x", SenderRole: 1, ClientMessageID: "x", Text: "x", CreateTime: t0}); !errors.Is(err, chat.ErrNotFound) {
			t.Fatalf("AppendMessage(unknown conversation) = %v, want ErrNotFound", err)
		}
		ms, err := st.ListMessages(ctx, "c1", 0, 10)
		if err != nil || len(ms) != 2 || ms[0] != m1 || ms[1] != m2 {
			t.Fatalf("ListMessages() = %+v, %v", ms, err)
		}
		ms, err = st.ListMessages(ctx, "c1", 1, 10)
		if err != nil || len(ms) != 1 || ms[0] != m2 {
			t.Fatalf("ListMessages(after 1) = %+v, %v", ms, err)
		}
		c, _ := st.GetConversation(ctx, "c1")
		if c.LastSequence != 2 {
			t.Fatalf("LastSequence = %d, want 2", c.LastSequence)
		}
	})
	t.Run("ConcurrentAppendsGapless", func(t *testing.T) {
		t.Parallel()
		st := open(t, b)
		ctx := t.Context()
		mustOpen(t, st, conv("c1", "alice", "o1", t0))
		const n = 20
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				// Every message twice, concurrently: one of each is stored.
				m := chat.Message{ConversationID: "c1", SenderID: "alice", SenderRole: 1,
					ClientMessageID: fmt.Sprint("m", i%(n/2)), Text: "x", CreateTime: t0}
				if _, _, err := st.AppendMessage(ctx, m); err != nil {
					t.Errorf("AppendMessage() = %v", err)
				}
			})
		}
		wg.Wait()
		ms, err := st.ListMessages(ctx, "c1", 0, 100)
		if err != nil || len(ms) != n/2 {
			t.Fatalf("ListMessages() = %d messages, %v; want %d", len(ms), err, n/2)
		}
		for i, m := range ms {
			if m.Sequence != int64(i+1) {
				t.Fatalf("message %d has sequence %d", i, m.Sequence)
			}
		}
	})
	t.Run("ListConversationsPages", func(t *testing.T) {
		t.Parallel()
		st := open(t, b)
		ctx := t.Context()
		for i := range 5 {
			customer := "alice"
			if i%2 == 1 {
				customer = "bob"
			}
			mustOpen(t, st, conv(fmt.Sprint("c", i), customer, fmt.Sprint("o", i), t0.Add(time.Duration(i)*time.Second)))
		}
		if _, err := st.AssignAgent(ctx, "c0", "agent", t0); err != nil {
			t.Fatal(err)
		}
		var ids []string
		q := chat.ConversationQuery{Limit: 2}
		for {
			page, err := st.ListConversations(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page {
				ids = append(ids, c.ID)
			}
			if len(page) < 2 {
				break
			}
			q.AfterTime, q.AfterID = page[1].CreateTime, page[1].ID
		}
		if fmt.Sprint(ids) != "[c0 c1 c2 c3 c4]" {
			t.Fatalf("all pages = %v", ids)
		}
		bobs, _ := st.ListConversations(ctx, chat.ConversationQuery{CustomerID: "bob", Limit: 10})
		waiting, _ := st.ListConversations(ctx, chat.ConversationQuery{State: chat.StateWaiting, Limit: 10})
		if len(bobs) != 2 || bobs[0].ID != "c1" || len(waiting) != 4 || waiting[0].ID != "c1" {
			t.Fatalf("bob's = %v, waiting = %v", bobs, waiting)
		}
	})
}

func mustOpen(t *testing.T, st *store.Store, c chat.Conversation) {
	t.Helper()
	if _, _, err := st.OpenConversation(t.Context(), c); err != nil {
		t.Fatalf("OpenConversation() = %v", err)
	}
}
