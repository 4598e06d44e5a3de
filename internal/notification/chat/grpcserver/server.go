// Package grpcserver is the gRPC transport of the support chat
// (bazaar.notification.v1.SupportService): it translates between the
// protos and internal/notification/chat and holds no business rule.
//
// It relies on the server chain of internal/platform/grpcx: the method
// policies of the contract are enforced before a handler runs, requests are
// validated with their protovalidate rules, domain errors are mapped to
// statuses, a stream whose token expires ends UNAUTHENTICATED, and a
// draining server ends the streams UNAVAILABLE SERVER_DRAINING.
package grpcserver

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	notificationv1 "github.com/bazaarhq/bazaar/gen/bazaar/notification/v1"
	"github.com/bazaarhq/bazaar/internal/notification/chat"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
)

// DefaultReconnectWait bounds how long a draining server waits for a
// participant to be sent its reconnect notice.
const DefaultReconnectWait = 2 * time.Second

// Server implements notificationv1.SupportServiceServer.
type Server struct {
	notificationv1.UnimplementedSupportServiceServer
	svc           *chat.Service
	draining      <-chan struct{} // closed when the server starts draining; nil: never
	reconnectWait time.Duration
}

var _ notificationv1.SupportServiceServer = (*Server)(nil)

// Option configures New.
type Option func(*Server)

// WithDraining makes Chat tell its participants to reconnect when
// draining is closed (Register finds it on a *grpcx.Server by itself).
func WithDraining(draining <-chan struct{}) Option { return func(s *Server) { s.draining = draining } }

// WithReconnectWait sets how long a draining Chat waits for its reconnect
// notice to be sent (default DefaultReconnectWait).
func WithReconnectWait(d time.Duration) Option { return func(s *Server) { s.reconnectWait = d } }

// New returns the transport for svc.
func New(svc *chat.Service, opts ...Option) *Server {
	s := &Server{svc: svc, reconnectWait: DefaultReconnectWait}
	for _, o := range opts {
		o(s)
	}
	return s
}

// drainer is what Register needs of a *grpcx.Server to know it is
// draining.
type drainer interface{ Draining() <-chan struct{} }

// Register registers the support chat API for svc on r (a *grpcx.Server,
// whose Draining channel it uses unless WithDraining says otherwise).
func Register(r grpc.ServiceRegistrar, svc *chat.Service, opts ...Option) {
	if d, ok := r.(drainer); ok {
		opts = append([]Option{WithDraining(d.Draining())}, opts...)
	}
	notificationv1.RegisterSupportServiceServer(r, New(svc, opts...))
}

// ListConversations implements notificationv1.SupportServiceServer.
func (s *Server) ListConversations(ctx context.Context, req *notificationv1.ListConversationsRequest) (*notificationv1.ListConversationsResponse, error) {
	page, err := s.svc.ListConversations(ctx, auth.PrincipalFrom(ctx), chat.ListRequest{
		PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken(), State: chat.State(req.GetState()),
	})
	if err != nil {
		return nil, err
	}
	out := &notificationv1.ListConversationsResponse{NextPageToken: page.NextPageToken}
	for _, c := range page.Conversations {
		out.Conversations = append(out.Conversations, conversationProto(c))
	}
	return out, nil
}

func conversationProto(c chat.Conversation) *notificationv1.Conversation {
	return &notificationv1.Conversation{
		Id: c.ID, CustomerId: c.CustomerID, OrderId: c.OrderID, AgentId: c.AgentID,
		State: notificationv1.ConversationState(c.State), LastSequence: c.LastSequence,
		CreateTime: timestamppb.New(c.CreateTime), UpdateTime: timestamppb.New(c.UpdateTime),
	}
}

func participantProto(p chat.Participant) *notificationv1.Participant {
	return &notificationv1.Participant{UserId: p.UserID, Role: notificationv1.ParticipantRole(p.Role)}
}

func messageProto(m chat.Message) *notificationv1.ChatMessage {
	return &notificationv1.ChatMessage{
		ConversationId: m.ConversationID, Sequence: m.Sequence,
		Sender:          participantProto(chat.Participant{UserID: m.SenderID, Role: m.SenderRole}),
		ClientMessageId: m.ClientMessageID, Text: m.Text, CreateTime: timestamppb.New(m.CreateTime),
	}
}

func eventProto(ev chat.Event) *notificationv1.ServerMessage {
	switch ev.Kind {
	case chat.EventMessage:
		return &notificationv1.ServerMessage{Kind: &notificationv1.ServerMessage_Message{Message: messageProto(ev.Message)}}
	case chat.EventPresence:
		return &notificationv1.ServerMessage{Kind: &notificationv1.ServerMessage_Presence{Presence: &notificationv1.Presence{
			Participant: participantProto(ev.Participant), Joined: ev.Joined}}}
	case chat.EventTyping:
		return &notificationv1.ServerMessage{Kind: &notificationv1.ServerMessage_Typing{Typing: &notificationv1.TypingIndicator{
			Participant: participantProto(ev.Participant)}}}
	case chat.EventRead:
		return &notificationv1.ServerMessage{Kind: &notificationv1.ServerMessage_Read{Read: &notificationv1.ReadReceipt{
			Participant: participantProto(ev.Participant), Sequence: ev.Sequence}}}
	case chat.EventReconnect:
		return &notificationv1.ServerMessage{Kind: &notificationv1.ServerMessage_Reconnect{Reconnect: &notificationv1.Reconnect{
			LastSequence: ev.Sequence, Reason: "the server is shutting down; rejoin after last_sequence"}}}
	}
	return nil
}

func joinedProto(ss *chat.Session) *notificationv1.ServerMessage {
	j := &notificationv1.Joined{
		Conversation: conversationProto(ss.Conversation()),
		Role:         notificationv1.ParticipantRole(ss.Me().Role),
	}
	for _, p := range ss.Participants() {
		j.Participants = append(j.Participants, participantProto(p))
	}
	return &notificationv1.ServerMessage{Kind: &notificationv1.ServerMessage_Joined{Joined: j}}
}
