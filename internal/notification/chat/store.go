package chat

import (
	"context"
	"time"
)

// State is where a conversation is in the support queue.
type State int8

// The states; the values are the API's.
const (
	// StateWaiting: no agent joined yet (the queue).
	StateWaiting State = 1
	// StateActive: an agent joined.
	StateActive State = 2
)

// Role is a participant's side of a conversation; the values are the
// API's.
type Role int8

// The roles.
const (
	RoleCustomer Role = 1
	RoleAgent    Role = 2
)

// Conversation is a support conversation between a customer and agents.
type Conversation struct {
	ID         string
	CustomerID string
	// OrderID is the order it is about, as the customer gave it (not
	// verified against the order service yet).
	OrderID      string
	AgentID      string // the first agent who joined; "" while waiting
	State        State
	LastSequence int64 // the sequence of the last message; 0 if none
	CreateTime   time.Time
	UpdateTime   time.Time
}

// Message is a stored message.
type Message struct {
	ConversationID  string
	Sequence        int64 // from 1, without gaps, assigned at commit
	SenderID        string
	SenderRole      Role
	ClientMessageID string // unique per conversation and sender
	Text            string
	CreateTime      time.Time
}

// ConversationQuery selects a page of conversations, in (CreateTime, ID)
// order.
type ConversationQuery struct {
	CustomerID string // "" for every customer
	State      State  // 0 for every state
	// After is the keyset position: conversations strictly after it.
	AfterTime time.Time
	AfterID   string
	Limit     int
}

// Store persists conversations and messages. Implementations are safe for
// concurrent use; internal/notification/chat/store implements it.
type Store interface {
	// OpenConversation returns the customer's conversation about the order,
	// creating c (ID, CustomerID, OrderID, times; State waiting) if there is
	// none; created says which.
	OpenConversation(ctx context.Context, c Conversation) (_ Conversation, created bool, _ error)
	// GetConversation returns a conversation or ErrNotFound.
	GetConversation(ctx context.Context, id string) (Conversation, error)
	// AssignAgent makes a waiting conversation active with agentID and
	// returns it as it then is (unchanged if it had an agent already), or
	// ErrNotFound.
	AssignAgent(ctx context.Context, id, agentID string, now time.Time) (Conversation, error)
	// AppendMessage stores m with the conversation's next sequence and
	// returns it. When the sender already stored a message with
	// m.ClientMessageID in the conversation, it returns that one and created
	// false. ErrNotFound for an unknown conversation.
	AppendMessage(ctx context.Context, m Message) (_ Message, created bool, _ error)
	// ListMessages returns up to limit messages of the conversation after
	// the sequence, in order.
	ListMessages(ctx context.Context, conversationID string, after int64, limit int) ([]Message, error)
	// ListConversations returns a page of conversations.
	ListConversations(ctx context.Context, q ConversationQuery) ([]Conversation, error)
}
