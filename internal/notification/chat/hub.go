package chat

import (
	"context"
	"errors"
	"sync"
)

// Participant is a live participant of a conversation.
type Participant struct {
	UserID string
	Role   Role
}

// EventKind says what an Event is.
type EventKind int8

// The kinds of Event.
const (
	// EventMessage: a message (history or live); Message is set.
	EventMessage EventKind = iota + 1
	// EventPresence: Participant joined (Joined) or left.
	EventPresence
	// EventTyping: Participant is typing.
	EventTyping
	// EventRead: Participant read up to Sequence.
	EventRead
	// EventReconnect: the server asks the client to reconnect after
	// Sequence (the last message sequence handed out); the Session ends
	// after it.
	EventReconnect
)

// Event is one thing a Session delivers to its participant.
type Event struct {
	Kind        EventKind
	Message     Message
	Participant Participant
	Joined      bool
	Sequence    int64
}

// room is the live participants of one conversation. Its lock is held
// from a message's commit to its fan-out, so fan-out is in sequence order.
type room struct {
	id      string
	refs    int // members and joiners; guarded by Service.mu
	mu      sync.Mutex
	members map[*Session]struct{}
}

// acquire returns the room of a conversation, creating it, and counts the
// caller as a user of it until release.
func (s *Service) acquire(id string) *room {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[id]
	if r == nil {
		r = &room{id: id, members: make(map[*Session]struct{})}
		s.rooms[id] = r
	}
	r.refs++
	return r
}

func (s *Service) release(r *room) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.refs--
	if r.refs == 0 {
		delete(s.rooms, r.id)
	}
}

// attach registers a new Session for me in the conversation's room. The
// conversation's last sequence is read under the room lock: the Session
// replays history up to it and queues live messages after it, so nothing is
// missed or repeated.
func (s *Service) attach(ctx context.Context, id string, me Participant, after int64) (*Session, error) {
	r := s.acquire(id)
	ss, err := s.attachLocked(ctx, r, me, after)
	if err != nil {
		s.release(r) // after the room lock: the lock order is Service.mu, then room.mu
		return nil, err
	}
	return ss, nil
}

func (s *Service) attachLocked(ctx context.Context, r *room, me Participant, after int64) (*Session, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := s.store.GetConversation(ctx, r.id)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, errConversationNotFound(r.id)
		}
		return nil, storeError(err, "reading the conversation")
	}
	ss := &Session{
		svc: s, room: r, me: me, conv: c, next: after, upTo: c.LastSequence,
		notify: make(chan struct{}, 1), done: make(chan struct{}),
	}
	if after > c.LastSequence {
		ss.next = c.LastSequence
	}
	ss.participants = append(ss.participants, me)
	for m := range r.members {
		ss.participants = append(ss.participants, m.me)
		m.push(Event{Kind: EventPresence, Participant: me, Joined: true})
	}
	r.members[ss] = struct{}{}
	return ss, nil
}

// Session is one participant's live attachment to a conversation. Next
// delivers its events: the history after the requested sequence, then the
// live events of the others and its own messages. One goroutine calls
// Next; the methods that act (Send, Typing, Read, Leave, Reconnect) may be
// called from another.
type Session struct {
	svc          *Service
	room         *room
	me           Participant
	conv         Conversation // as when joined
	participants []Participant
	releaseOnce  sync.Once

	// History replay, by the Next goroutine only.
	next    int64 // the last history sequence delivered
	upTo    int64 // history ends here; live messages follow
	history []Message
	lastSeq int64 // the last message sequence Next returned

	mu        sync.Mutex
	queue     []Event
	notify    chan struct{} // a signal that queue or closing changed
	done      chan struct{} // closed when the session ends
	err       error         // why it ended
	left      bool          // removed from the room
	reconnect bool          // a reconnect event is queued: Next ends after it
}

// Conversation is the conversation as it was when the Session attached.
func (ss *Session) Conversation() Conversation { return ss.conv }

// Me is the participant.
func (ss *Session) Me() Participant { return ss.me }

// Participants are the live participants when the Session attached,
// itself first.
func (ss *Session) Participants() []Participant { return ss.participants }

// Done is closed when the Session has ended: left, removed for not
// reading (Err is ErrQueueFull) or reconnecting.
func (ss *Session) Done() <-chan struct{} { return ss.done }

// Err says why the Session ended (nil while it runs).
func (ss *Session) Err() error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.err
}

// push queues ev for the participant; the caller holds the room lock.
// Typing indicators are dropped once the queue is half full; a full queue
// ends the Session with ErrQueueFull and removes it from the room.
func (ss *Session) push(ev Event) {
	ss.mu.Lock()
	if ss.err != nil || ss.reconnect {
		ss.mu.Unlock()
		return
	}
	limit := ss.svc.cfg.QueueSize
	if ev.Kind == EventTyping && len(ss.queue) >= limit/2 {
		ss.mu.Unlock()
		return
	}
	if len(ss.queue) >= limit {
		ss.queue = nil // the client rejoins from the store: free it now
		ss.err = ErrQueueFull
		close(ss.done)
		ss.mu.Unlock()
		ss.leaveLocked()
		return
	}
	ss.queue = append(ss.queue, ev)
	n := len(ss.queue)
	ss.mu.Unlock()
	ss.svc.observeQueue(n)
	select {
	case ss.notify <- struct{}{}:
	default:
	}
}

// leaveLocked removes ss from its room and tells the others; the caller
// holds the room lock.
func (ss *Session) leaveLocked() {
	if _, ok := ss.room.members[ss]; !ok {
		return
	}
	delete(ss.room.members, ss)
	for m := range ss.room.members {
		m.push(Event{Kind: EventPresence, Participant: ss.me})
	}
	ss.left = true
}

// Leave ends the Session: the others see the participant leave. It is
// idempotent and must be called once the participant is gone.
func (ss *Session) Leave() {
	ss.room.mu.Lock()
	ss.leaveLocked()
	ss.room.mu.Unlock()
	ss.end(ErrClosed)
	ss.releaseOnce.Do(func() { ss.svc.release(ss.room) })
}

func (ss *Session) end(err error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.err == nil {
		ss.err = err
		ss.queue = nil
		close(ss.done)
	}
}

// Reconnect leaves the room and queues a reconnect event after what is
// queued (beyond the bound: one event); Next delivers the queue, then the
// event, then ErrClosed. For a server shutting down.
func (ss *Session) Reconnect() {
	ss.room.mu.Lock()
	ss.leaveLocked()
	ss.room.mu.Unlock()
	ss.mu.Lock()
	if ss.err == nil && !ss.reconnect {
		ss.reconnect = true
		ss.queue = append(ss.queue, Event{Kind: EventReconnect})
	}
	ss.mu.Unlock()
	select {
	case ss.notify <- struct{}{}:
	default:
	}
}
