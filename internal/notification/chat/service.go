package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/pagetoken"
)

// Service is the support chat use cases and the hub that routes live
// events. It is safe for concurrent use. Create it with New.
type Service struct {
	store Store
	cfg   Config
	pages pagetoken.Codec

	mu    sync.Mutex
	rooms map[string]*room // by conversation id; only rooms with participants or joiners

	statsMu   sync.Mutex
	highWater int // the longest any participant queue has been
}

// New returns a Service over store. Zero fields of cfg take their defaults.
func New(store Store, cfg Config) (*Service, error) {
	if store == nil {
		return nil, errors.New("chat: nil store")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Service{store: store, cfg: cfg, pages: pagetoken.New("bazaar.notification.v1.SupportService"),
		rooms: make(map[string]*room)}, nil
}

// QueueHighWater is the longest any participant's outbound queue has been
// since the Service started: never more than Config.QueueSize.
func (s *Service) QueueHighWater() int {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	return s.highWater
}

// Participants returns the number of live participants (for tests and
// metrics).
func (s *Service) Participants() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.rooms {
		r.mu.Lock()
		n += len(r.members)
		r.mu.Unlock()
	}
	return n
}

func (s *Service) now() time.Time { return s.cfg.Clock().UTC().Truncate(time.Microsecond) }

// user returns the caller as a user, or PERMISSION_DENIED.
func (s *Service) user(p *auth.Principal) (*auth.Principal, error) {
	if p == nil || p.Kind != auth.User || p.Subject == "" {
		return nil, errs.New(errs.PermissionDenied, ReasonUsersOnly, "support chat is for signed-in users")
	}
	return p, nil
}

// IsAgent reports whether p is a support agent.
func (s *Service) IsAgent(p *auth.Principal) bool {
	if p == nil || p.Kind != auth.User {
		return false
	}
	for _, r := range s.cfg.AgentRoles {
		if slices.Contains(p.Roles, r) {
			return true
		}
	}
	return false
}

// Open opens the caller's conversation about orderID (or resumes the one
// it has) and attaches a Session to it that replays the messages after
// after. The order's ownership is not verified yet (a later step asks the
// order service).
func (s *Service) Open(ctx context.Context, p *auth.Principal, orderID string, after int64) (*Session, error) {
	p, err := s.user(p)
	if err != nil {
		return nil, err
	}
	now := s.now()
	c, _, err := s.store.OpenConversation(ctx, Conversation{
		ID: s.cfg.NewID(), CustomerID: p.Subject, OrderID: orderID, State: StateWaiting,
		CreateTime: now, UpdateTime: now,
	})
	if err != nil {
		return nil, storeError(err, "opening a conversation")
	}
	return s.attach(ctx, c.ID, Participant{UserID: p.Subject, Role: RoleCustomer}, after)
}

// Join attaches a Session to a conversation: the customer's own, or any
// for an agent (the first agent to join takes it out of the queue). Another
// customer's conversation is NOT_FOUND.
func (s *Service) Join(ctx context.Context, p *auth.Principal, conversationID string, after int64) (*Session, error) {
	p, err := s.user(p)
	if err != nil {
		return nil, err
	}
	c, err := s.getVisible(ctx, p, conversationID)
	if err != nil {
		return nil, err
	}
	me := Participant{UserID: p.Subject, Role: RoleCustomer}
	if c.CustomerID != p.Subject {
		me.Role = RoleAgent
		if c.State == StateWaiting {
			if _, err := s.store.AssignAgent(ctx, c.ID, p.Subject, s.now()); err != nil {
				return nil, storeError(err, "assigning the agent")
			}
		}
	}
	return s.attach(ctx, c.ID, me, after)
}

// GetConversation returns a conversation the caller may see.
func (s *Service) GetConversation(ctx context.Context, p *auth.Principal, id string) (Conversation, error) {
	p, err := s.user(p)
	if err != nil {
		return Conversation{}, err
	}
	return s.getVisible(ctx, p, id)
}

func (s *Service) getVisible(ctx context.Context, p *auth.Principal, id string) (Conversation, error) {
	c, err := s.store.GetConversation(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return Conversation{}, errConversationNotFound(id)
	case err != nil:
		return Conversation{}, storeError(err, "reading the conversation")
	case c.CustomerID != p.Subject && !s.IsAgent(p):
		return Conversation{}, errConversationNotFound(id)
	}
	return c, nil
}

// ListRequest asks for a page of conversations.
type ListRequest struct {
	PageSize  int    // 0: DefaultPageSize
	PageToken string // from a previous page
	State     State  // 0: every state
}

// ListPage is a page of conversations.
type ListPage struct {
	Conversations []Conversation
	NextPageToken string
}

type listCursor struct {
	T  time.Time `json:"t"`
	ID string    `json:"i"`
}

// ListConversations pages through conversations, oldest first: every one
// for an agent (State StateWaiting is the queue), the caller's own for a
// customer.
func (s *Service) ListConversations(ctx context.Context, p *auth.Principal, req ListRequest) (ListPage, error) {
	p, err := s.user(p)
	if err != nil {
		return ListPage{}, err
	}
	size := req.PageSize
	switch {
	case size < 0 || size > MaxPageSize:
		return ListPage{}, errs.BadRequest(ReasonPageSizeInvalid, errs.FieldViolation{
			Field: "page_size", Description: fmt.Sprintf("must be 0 to %d", MaxPageSize)})
	case size == 0:
		size = DefaultPageSize
	}
	q := ConversationQuery{State: req.State, Limit: size + 1}
	if !s.IsAgent(p) {
		q.CustomerID = p.Subject
	}
	listing := fmt.Sprintf("customer=%s;state=%d", q.CustomerID, q.State)
	if req.PageToken != "" {
		var cur listCursor
		if err := s.pages.Decode(req.PageToken, listing, &cur); err != nil {
			return ListPage{}, err
		}
		q.AfterTime, q.AfterID = cur.T, cur.ID
	}
	cs, err := s.store.ListConversations(ctx, q)
	if err != nil {
		return ListPage{}, storeError(err, "listing conversations")
	}
	page := ListPage{Conversations: cs}
	if len(cs) > size {
		page.Conversations = cs[:size]
		last := cs[size-1]
		page.NextPageToken = s.pages.Encode(listing, listCursor{T: last.CreateTime, ID: last.ID})
	}
	return page, nil
}

func (s *Service) observeQueue(n int) {
	s.statsMu.Lock()
	if n > s.highWater {
		s.highWater = n
	}
	s.statsMu.Unlock()
}
