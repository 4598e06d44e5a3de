package notification

import (
	"sync"
)

// hub fans committed notifications out to the live subscriptions of this
// process, keyed by user id. Publishing never blocks: each subscription has
// a bounded queue, and one that is full is cut off (overflowed) and removed,
// so a slow subscriber costs at most its queue.
type hub struct {
	mu    sync.Mutex
	subs  map[string]map[*subscriber]struct{}
	count int
}

type subscriber struct {
	userID string
	queue  chan Notification
	// overflow is closed when the queue was full; guarded by hub.mu.
	overflow   chan struct{}
	overflowed bool
}

func newHub() *hub { return &hub{subs: make(map[string]map[*subscriber]struct{})} }

func (h *hub) add(userID string, limit int) *subscriber {
	s := &subscriber{userID: userID, queue: make(chan Notification, limit), overflow: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.subs[userID]
	if m == nil {
		m = make(map[*subscriber]struct{})
		h.subs[userID] = m
	}
	m[s] = struct{}{}
	h.count++
	return s
}

func (h *hub) remove(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(s)
}

func (h *hub) removeLocked(s *subscriber) {
	m := h.subs[s.userID]
	if _, ok := m[s]; !ok {
		return
	}
	delete(m, s)
	h.count--
	if len(m) == 0 {
		delete(h.subs, s.userID)
	}
}

// publish queues ns (committed) for their users' subscribers.
func (h *hub) publish(ns []Notification) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range ns {
		for s := range h.subs[n.UserID] {
			select {
			case s.queue <- n:
			default:
				s.overflowed = true
				close(s.overflow)
				h.removeLocked(s)
			}
		}
	}
}

// subscribers returns the number of live subscriptions.
func (h *hub) subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.count
}
