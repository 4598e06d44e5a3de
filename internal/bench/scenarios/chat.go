package scenarios

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"

	notificationv1 "github.com/bazaarhq/bazaar/gen/bazaar/notification/v1"
)

// chat: each worker is a customer and an agent (the admin) in a support
// conversation of their own (SupportService.Chat, bidirectional streams).
// A request is one round trip: the customer sends a message, the agent
// receives it and answers, the customer receives the answer.
type chat struct {
	*shopper
	*streams
	pairs []*chatPair
}

type chatStream = grpc.BidiStreamingClient[notificationv1.ClientMessage, notificationv1.ServerMessage]

type chatPair struct {
	customer, agent     chatStream
	customerIn, agentIn *inbox[*notificationv1.ServerMessage]
	seq                 int
}

func newChat(ctx context.Context, env Env) (*chat, error) {
	s, err := newShopper(env)
	if err != nil {
		return nil, err
	}
	c := &chat{shopper: s, streams: newStreams(ctx)}
	if err := c.setup(ctx); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

func (c *chat) setup(ctx context.Context) error {
	agentToken, err := c.adminToken(ctx)
	if err != nil {
		return err
	}
	customerToken, err := c.signUp(ctx, "chat")
	if err != nil {
		return err
	}
	open := func(i int, token string, first *notificationv1.ClientMessage) (chatStream, *inbox[*notificationv1.ServerMessage], *notificationv1.Joined, error) {
		cc, err := c.forStream("notification", i)
		if err != nil {
			return nil, nil, nil, err
		}
		st, err := notificationv1.NewSupportServiceClient(cc).Chat(bearer(c.ctx, token))
		if err != nil {
			return nil, nil, nil, err
		}
		in := newInbox(c.ctx, st.Recv)
		c.track(in.done)
		if err := st.Send(first); err != nil {
			return nil, nil, nil, err
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		m, err := in.next(wctx, func(m *notificationv1.ServerMessage) bool { return m.GetJoined() != nil })
		if err != nil {
			return nil, nil, nil, fmt.Errorf("chat: joining: %w", err)
		}
		return st, in, m.GetJoined(), nil
	}
	for w := range c.env.Workers {
		p := &chatPair{}
		var joined *notificationv1.Joined
		p.customer, p.customerIn, joined, err = open(2*w, customerToken, &notificationv1.ClientMessage{Kind: &notificationv1.ClientMessage_Open{
			Open: &notificationv1.OpenConversation{OrderId: fmt.Sprintf("bench-%s-%d", c.run, w)}}})
		if err != nil {
			return err
		}
		p.agent, p.agentIn, _, err = open(2*w+1, agentToken, &notificationv1.ClientMessage{Kind: &notificationv1.ClientMessage_Join{
			Join: &notificationv1.JoinConversation{ConversationId: joined.GetConversation().GetId()}}})
		if err != nil {
			return err
		}
		c.pairs = append(c.pairs, p)
	}
	c.env.logf("chat: %d conversations, each a customer and the admin as agent", len(c.pairs))
	return nil
}

func (*chat) Name() string { return "chat" }

func (c *chat) Do(ctx context.Context, w int) (time.Duration, error) {
	p := c.pairs[w%len(c.pairs)]
	p.seq++
	ask := fmt.Sprintf("%s-q%d-%d", c.run, w, p.seq)
	answer := fmt.Sprintf("%s-a%d-%d", c.run, w, p.seq)
	if err := roundTrip(ctx, p.customer, p.agentIn, ask); err != nil {
		return 0, err
	}
	return 0, roundTrip(ctx, p.agent, p.customerIn, answer)
}

// roundTrip sends id from one side and waits until the other receives it.
func roundTrip(ctx context.Context, from chatStream, to *inbox[*notificationv1.ServerMessage], id string) error {
	err := from.Send(&notificationv1.ClientMessage{Kind: &notificationv1.ClientMessage_Send{
		Send: &notificationv1.SendMessage{ClientMessageId: id, Text: "bench message " + id}}})
	if err != nil {
		return err
	}
	_, err = to.next(ctx, func(m *notificationv1.ServerMessage) bool { return m.GetMessage().GetClientMessageId() == id })
	return err
}

func (c *chat) Close() error {
	for _, p := range c.pairs {
		_ = p.customer.CloseSend()
		_ = p.agent.CloseSend()
	}
	c.stop()
	return c.shopper.Close()
}
