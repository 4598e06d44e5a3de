package chat

import (
	"context"
	"errors"
)

// Next returns the Session's next event, waiting for one: first the
// stored history after the requested sequence, then live events. It
// returns ErrQueueFull when the participant fell too far behind, ErrClosed
// after Leave or after the reconnect event, or ctx's error. Only one
// goroutine may call Next.
func (ss *Session) Next(ctx context.Context) (Event, error) {
	if err := ss.ended(); err != nil {
		return Event{}, err
	}
	if ss.next < ss.upTo {
		if len(ss.history) == 0 {
			ms, err := ss.svc.store.ListMessages(ctx, ss.conv.ID, ss.next, ss.svc.cfg.HistoryPage)
			if err != nil {
				return Event{}, storeError(err, "reading the history")
			}
			if len(ms) == 0 { // cannot happen: upTo was committed
				ss.next = ss.upTo
			}
			ss.history = ms
		}
		if len(ss.history) > 0 {
			m := ss.history[0]
			ss.history = ss.history[1:]
			ss.next = m.Sequence
			if m.Sequence > ss.upTo { // the live queue has it
				ss.history, ss.next = nil, ss.upTo
			} else {
				ss.lastSeq = max(ss.lastSeq, m.Sequence)
				return Event{Kind: EventMessage, Message: m}, nil
			}
		}
	}
	for {
		ss.mu.Lock()
		if ss.err != nil {
			err := ss.err
			ss.mu.Unlock()
			return Event{}, err
		}
		if len(ss.queue) > 0 {
			ev := ss.queue[0]
			ss.queue[0] = Event{}
			ss.queue = ss.queue[1:]
			if len(ss.queue) == 0 {
				ss.queue = nil // let the backing array go
			}
			if ev.Kind == EventReconnect {
				ev.Sequence = ss.lastSeq
				ss.err = ErrClosed
				close(ss.done)
				ss.queue = nil
			}
			ss.mu.Unlock()
			if ev.Kind == EventMessage {
				if ev.Message.Sequence <= ss.lastSeq && ev.Message.SenderID != ss.me.UserID {
					continue // already delivered by the replay
				}
				ss.lastSeq = max(ss.lastSeq, ev.Message.Sequence)
			}
			return ev, nil
		}
		ss.mu.Unlock()
		select {
		case <-ctx.Done():
			return Event{}, ctx.Err()
		case <-ss.notify:
		case <-ss.done:
		}
	}
}

func (ss *Session) ended() error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.err != nil && (!ss.reconnect || len(ss.queue) == 0) {
		return ss.err
	}
	return nil
}

// LastSequence is the last message sequence Next returned. Only the
// goroutine calling Next may call it.
func (ss *Session) LastSequence() int64 { return ss.lastSeq }

// Send stores a message from the participant and delivers it to every live
// participant, itself included, in sequence order. A resend (the same
// client message id) returns the stored message and delivers it to the
// sender only.
func (ss *Session) Send(ctx context.Context, clientMessageID, text string) (Message, error) {
	r := ss.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := ss.Err(); err != nil {
		return Message{}, err
	}
	m, created, err := ss.svc.store.AppendMessage(ctx, Message{
		ConversationID: ss.conv.ID, SenderID: ss.me.UserID, SenderRole: ss.me.Role,
		ClientMessageID: clientMessageID, Text: text, CreateTime: ss.svc.now(),
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return Message{}, errConversationNotFound(ss.conv.ID)
		}
		return Message{}, storeError(err, "storing the message")
	}
	ev := Event{Kind: EventMessage, Message: m}
	if !created {
		ss.push(ev)
		return m, nil
	}
	for p := range r.members {
		p.push(ev)
	}
	return m, nil
}

// Typing tells the other participants that this one is typing.
func (ss *Session) Typing() { ss.broadcast(Event{Kind: EventTyping, Participant: ss.me}) }

// Read tells the other participants that this one read up to seq.
func (ss *Session) Read(seq int64) {
	ss.broadcast(Event{Kind: EventRead, Participant: ss.me, Sequence: seq})
}

func (ss *Session) broadcast(ev Event) {
	r := ss.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.members[ss]; !ok {
		return
	}
	for p := range r.members {
		if p != ss {
			p.push(ev)
		}
	}
}
