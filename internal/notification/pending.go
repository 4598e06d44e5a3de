package notification

import (
	"container/list"
	"sync"
)

// pendingEffects remembers the effects of handled events until their
// transaction is reported committed, bounded: past limit the oldest is
// forgotten (its notifications then reach subscribers at their next
// store read, see the package doc).
type pendingEffects struct {
	mu    sync.Mutex
	limit int
	order *list.List // of string, oldest first
	byID  map[string]pendingEntry
}

type pendingEntry struct {
	eff  effect
	elem *list.Element
}

func newPendingEffects(limit int) *pendingEffects {
	return &pendingEffects{limit: limit, order: list.New(), byID: make(map[string]pendingEntry)}
}

// put remembers eff for eventID, replacing an earlier attempt's (a
// transaction retried after a rollback).
func (p *pendingEffects) put(eventID string, eff effect) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.byID[eventID]; ok {
		p.order.Remove(old.elem)
	}
	p.byID[eventID] = pendingEntry{eff: eff, elem: p.order.PushBack(eventID)}
	for p.order.Len() > p.limit {
		oldest := p.order.Front()
		p.order.Remove(oldest)
		delete(p.byID, oldest.Value.(string)) //nolint:forcetypeassert // only strings are pushed
	}
}

func (p *pendingEffects) take(eventID string) (effect, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.byID[eventID]
	if !ok {
		return effect{}, false
	}
	p.order.Remove(e.elem)
	delete(p.byID, eventID)
	return e.eff, true
}

func (p *pendingEffects) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.order.Len()
}
