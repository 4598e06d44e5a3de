package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	notificationv1 "github.com/bazaarhq/bazaar/gen/bazaar/notification/v1"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// defaultChatAddr is the notification service's address under `bazaar
// up`'s defaults (base port + 6).
const defaultChatAddr = "127.0.0.1:50057"

// chatReconnects bounds how many times in a row `bazaar chat` rejoins a
// conversation after its stream broke without progress.
const chatReconnects = 5

const chatUsage = `usage: bazaar chat [flags] (--order ORDER_ID | --join CONVERSATION_ID | --list)

Support chat against a running notification service. --order opens (or
resumes) your conversation about an order; --join joins a conversation
(an agent, or a customer resuming theirs); --list lists the queue of
waiting conversations (agents) or your conversations (customers).
Each line read from stdin is sent as a message; what the server sends is
printed one line per event. The chat rejoins after a server restart or a
broken connection, from the last message seen, and resends what was not
yet confirmed (sends are idempotent).

`

// chatCommand runs `bazaar chat`. stdin is where the lines to send come
// from.
func chatCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	var c clientFlags
	fs := flag.NewFlagSet("bazaar chat", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() { fmt.Fprint(stdout, chatUsage); fs.PrintDefaults() }
	c.register(fs, getenv, "notification", defaultChatAddr)
	order := fs.String("order", "", "open (or resume) the conversation about this order (customers)")
	joinID := fs.String("join", "", "join this conversation (agents; customers resuming theirs)")
	list := fs.Bool("list", false, "list the waiting conversations (agents) or yours (customers)")
	all := fs.Bool("all", false, "with --list: every state, not only waiting ones (agents)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	modes := 0
	for _, on := range []bool{*order != "", *joinID != "", *list} {
		if on {
			modes++
		}
	}
	if modes != 1 || fs.NArg() != 0 {
		fs.Usage()
		return errors.New("bazaar chat takes exactly one of --order, --join and --list, and no arguments")
	}
	// A chat lasts as long as it lasts: no deadline unless asked for.
	timeoutSet := false
	fs.Visit(func(f *flag.Flag) { timeoutSet = timeoutSet || f.Name == "timeout" })
	if !timeoutSet {
		c.timeout = 0
	}
	cc, err := c.dial()
	if err != nil {
		return err
	}
	defer func() { _ = cc.Close() }()
	client := notificationv1.NewSupportServiceClient(cc)
	if *list {
		return listConversations(ctx, c, client, *all, stdout)
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	if c.token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.token)
	}
	ch := &chatClient{client: client, out: stdout, order: *order, conversationID: *joinID, prefix: randomPrefix()}
	return ch.run(ctx, stdin)
}

func listConversations(ctx context.Context, c clientFlags, client notificationv1.SupportServiceClient, all bool, stdout io.Writer) error {
	if c.timeout == 0 {
		c.timeout = 30 * time.Second
	}
	ctx, cancel := c.context(ctx)
	defer cancel()
	req := &notificationv1.ListConversationsRequest{PageSize: 200}
	if !all {
		req.State = notificationv1.ConversationState_CONVERSATION_STATE_WAITING
	}
	n := 0
	for {
		resp, err := client.ListConversations(ctx, req)
		if err != nil {
			return describe(err)
		}
		for _, cv := range resp.GetConversations() {
			n++
			fmt.Fprintf(stdout, "%s  order %s  customer %s  %s  %d messages  opened %s\n", cv.GetId(), cv.GetOrderId(),
				cv.GetCustomerId(), stateName(cv.GetState()), cv.GetLastSequence(), cv.GetCreateTime().AsTime().Format(time.RFC3339))
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	if n == 0 {
		fmt.Fprintln(stdout, "no conversations")
	}
	return nil
}

func stateName(s notificationv1.ConversationState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "CONVERSATION_STATE_"))
}

func roleName(r notificationv1.ParticipantRole) string {
	return strings.ToLower(strings.TrimPrefix(r.String(), "PARTICIPANT_ROLE_"))
}

func randomPrefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// chatClient is one `bazaar chat` session: it may span several streams
// (rejoins), each resuming after the last sequence seen.
type chatClient struct {
	client         notificationv1.SupportServiceClient
	out            io.Writer
	order          string // open by order until the conversation id is known
	conversationID string
	prefix         string // of client message ids

	mu      sync.Mutex
	lastSeq int64
	pending []*notificationv1.SendMessage // sent, not yet echoed: resent after a rejoin
	seq     int                           // client message counter
}

func (c *chatClient) run(ctx context.Context, stdin io.Reader) error {
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	failures := 0
	for {
		before := c.last()
		err := c.stream(ctx, lines)
		if err == nil || ctx.Err() != nil {
			return err
		}
		d := errs.FromError(err)
		retry := d.Code == codes.Unavailable || d.Code == codes.ResourceExhausted && d.Reason == "CHAT_QUEUE_FULL"
		if !retry {
			return describe(err)
		}
		if c.last() > before {
			failures = 0
		}
		if failures++; failures > chatReconnects {
			return describe(err)
		}
		fmt.Fprintf(c.out, "* reconnecting after message %d (%s)\n", c.last(), d.Reason)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(failures*failures) * 100 * time.Millisecond):
		}
	}
}

func (c *chatClient) last() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastSeq
}

// stream runs one Chat stream: nil when stdin ended and the server closed
// the stream, else why it broke.
func (c *chatClient) stream(ctx context.Context, lines <-chan string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.client.Chat(ctx)
	if err != nil {
		return err
	}
	var first *notificationv1.ClientMessage
	c.mu.Lock()
	if c.conversationID != "" {
		first = &notificationv1.ClientMessage{Kind: &notificationv1.ClientMessage_Join{Join: &notificationv1.JoinConversation{
			ConversationId: c.conversationID, AfterSequence: c.lastSeq}}}
	} else {
		first = &notificationv1.ClientMessage{Kind: &notificationv1.ClientMessage_Open{Open: &notificationv1.OpenConversation{
			OrderId: c.order, AfterSequence: c.lastSeq}}}
	}
	resend := append([]*notificationv1.SendMessage(nil), c.pending...)
	c.mu.Unlock()
	if err := stream.Send(first); err != nil {
		return recvErr(stream, err)
	}
	for _, m := range resend {
		if err := stream.Send(&notificationv1.ClientMessage{Kind: &notificationv1.ClientMessage_Send{Send: m}}); err != nil {
			return recvErr(stream, err)
		}
	}
	recvDone := make(chan error, 1)
	go func() { recvDone <- c.receive(stream) }()
	for {
		select {
		case err := <-recvDone:
			return err
		case line, ok := <-lines:
			if !ok {
				_ = stream.CloseSend()
				lines = nil // stdin ended: wait for the server to close
				continue
			}
			if strings.TrimSpace(line) == "" {
				continue
			}
			c.mu.Lock()
			c.seq++
			m := &notificationv1.SendMessage{ClientMessageId: fmt.Sprintf("%s-%d", c.prefix, c.seq), Text: line}
			c.pending = append(c.pending, m)
			c.mu.Unlock()
			if err := stream.Send(&notificationv1.ClientMessage{Kind: &notificationv1.ClientMessage_Send{Send: m}}); err != nil {
				return <-recvDone // the receiver has the stream's status
			}
		}
	}
}

// recvErr returns the status that ended a stream whose Send failed.
func recvErr(stream grpc.BidiStreamingClient[notificationv1.ClientMessage, notificationv1.ServerMessage], sendErr error) error {
	for {
		if _, err := stream.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return sendErr
			}
			return err
		}
	}
}

// receive prints the stream's events; nil when the server closed it.
func (c *chatClient) receive(stream grpc.BidiStreamingClient[notificationv1.ClientMessage, notificationv1.ServerMessage]) error {
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		c.print(m)
	}
}

func who(p *notificationv1.Participant) string {
	return p.GetUserId() + " (" + roleName(p.GetRole()) + ")"
}

func (c *chatClient) print(m *notificationv1.ServerMessage) {
	switch k := m.GetKind().(type) {
	case *notificationv1.ServerMessage_Joined:
		cv := k.Joined.GetConversation()
		c.mu.Lock()
		c.conversationID = cv.GetId()
		c.mu.Unlock()
		var ps []string
		for _, p := range k.Joined.GetParticipants() {
			ps = append(ps, who(p))
		}
		fmt.Fprintf(c.out, "* conversation %s about order %s (%s) as %s; here: %s\n", cv.GetId(), cv.GetOrderId(),
			stateName(cv.GetState()), roleName(k.Joined.GetRole()), strings.Join(ps, ", "))
	case *notificationv1.ServerMessage_Message:
		msg := k.Message
		c.mu.Lock()
		c.pending = slices.DeleteFunc(c.pending, func(p *notificationv1.SendMessage) bool {
			return p.GetClientMessageId() == msg.GetClientMessageId()
		})
		dup := msg.GetSequence() <= c.lastSeq
		c.lastSeq = max(c.lastSeq, msg.GetSequence())
		c.mu.Unlock()
		if !dup {
			fmt.Fprintf(c.out, "[%d %s] %s: %s\n", msg.GetSequence(), msg.GetCreateTime().AsTime().Local().Format("15:04"),
				who(msg.GetSender()), msg.GetText())
		}
	case *notificationv1.ServerMessage_Presence:
		verb := "left"
		if k.Presence.GetJoined() {
			verb = "joined"
		}
		fmt.Fprintf(c.out, "* %s %s\n", who(k.Presence.GetParticipant()), verb)
	case *notificationv1.ServerMessage_Typing:
		fmt.Fprintf(c.out, "* %s is typing\n", who(k.Typing.GetParticipant()))
	case *notificationv1.ServerMessage_Read:
		fmt.Fprintf(c.out, "* %s read up to %d\n", who(k.Read.GetParticipant()), k.Read.GetSequence())
	case *notificationv1.ServerMessage_Reconnect:
		fmt.Fprintf(c.out, "* the server asks to reconnect after message %d\n", k.Reconnect.GetLastSequence())
	}
}
