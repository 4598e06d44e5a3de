package order

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
)

// Service is the order use cases and the checkout saga. It is safe for
// concurrent use. Create it with New; call Run to recover orders left by a
// crash or waiting for a retry, and Close when done.
//
// Authorisation of a call is the method policy's job (authenticated);
// ownership of orders and carts is checked here: a caller sees its own,
// an admin every one.
type Service struct {
	store    Store
	inv      Inventory
	pay      Payments
	cfg      Config
	changes  *changes
	bg       context.Context // the drivers' context, ended by Close
	stop     context.CancelFunc
	mu       sync.Mutex // guards closed, wg.Add, inFlight and handoff
	closed   bool
	wg       sync.WaitGroup
	inFlight map[string]bool   // order id: a local driver is on it
	handoff  map[string]*Order // order id: leased to the next driver (see goDrive)
}

// New returns a Service over store that reaches the catalog through inv
// and the payment service through pay. Zero fields of cfg take their
// defaults (see Config). It returns an error for an invalid configuration.
func New(store Store, inv Inventory, pay Payments, cfg Config) (*Service, error) {
	switch {
	case store == nil:
		return nil, errors.New("order: nil store")
	case inv == nil:
		return nil, errors.New("order: nil inventory")
	case pay == nil:
		return nil, errors.New("order: nil payments")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	bg, stop := context.WithCancel(context.Background())
	return &Service{
		store: store, inv: inv, pay: pay, cfg: cfg, changes: newChanges(), bg: bg, stop: stop,
		inFlight: map[string]bool{}, handoff: map[string]*Order{},
	}, nil
}

// Close stops the drivers this Service started and waits for them. Orders
// they were working on keep their persisted state and are finished by the
// Run of this or another process once their leases expire.
func (s *Service) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.stop()
	s.wg.Wait()
}

// goDrive starts a driver for the order in the background, unless the
// Service is closed or a driver of this Service is already on it. leased,
// when not nil, is the order already leased to this Service.
//
// A lease taken while a driver of the order is still on it (CancelOrder
// takes a completed order's lease the moment its driver has announced the
// completion, before that driver has returned) is handed to a new driver
// when that one returns: dropped, it would leave the order with nobody to
// drive it until the lease expired.
func (s *Service) goDrive(id string, leased *Order) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.startLocked(id, leased)
}

// startLocked is goDrive with s.mu held.
func (s *Service) startLocked(id string, leased *Order) {
	if s.closed {
		return
	}
	if s.inFlight[id] {
		if leased != nil {
			s.handoff[id] = leased
		}
		return
	}
	s.inFlight[id] = true
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.drive(s.bg, id, leased)
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.inFlight, id)
		if next, ok := s.handoff[id]; ok {
			delete(s.handoff, id)
			s.startLocked(id, next)
		}
	}()
}

// now is the service clock in UTC at the microsecond precision both
// databases keep, so that times read back compare equal to times written.
func (s *Service) now() time.Time {
	return s.cfg.Clock().UTC().Truncate(time.Microsecond)
}

func customerOf(caller *auth.Principal) (string, error) {
	if caller == nil || caller.Subject == "" {
		return "", errUnauthenticated()
	}
	return caller.Subject, nil
}

func isAdmin(caller *auth.Principal) bool {
	return caller != nil && caller.Kind == auth.User && slices.Contains(caller.Roles, RoleAdmin)
}

// changes lets callers follow the changes this process makes to orders;
// each change hands the order as changed, so that a follower needs no
// read (other processes' changes are seen by polling).
type changes struct {
	mu sync.Mutex
	m  map[string]*follow
}

// follow is the change state of one order while someone follows it.
type follow struct {
	ch    chan struct{} // closed at the next change
	gen   uint64        // counts changes
	order *Order        // as the last change left it
	subs  int
}

func newChanges() *changes { return &changes{m: map[string]*follow{}} }

// subscription follows one order; close it when done.
type subscription struct {
	c  *changes
	id string
	f  *follow
}

// subscribe starts following order id.
func (c *changes) subscribe(id string) *subscription {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.m[id]
	if f == nil {
		f = &follow{ch: make(chan struct{})}
		c.m[id] = f
	}
	f.subs++
	return &subscription{c: c, id: id, f: f}
}

// state returns a channel closed at the next change, the number of
// changes so far, and the order as the last one left it (nil before any).
func (s *subscription) state() (<-chan struct{}, uint64, *Order) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.f.ch, s.f.gen, s.f.order
}

func (s *subscription) close() {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if s.f.subs--; s.f.subs == 0 && s.c.m[s.id] == s.f {
		delete(s.c.m, s.id)
	}
}

// notify records a change of order id, leaving it as o, and wakes its
// followers.
func (c *changes) notify(id string, o *Order) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.m[id]; f != nil {
		f.gen++
		f.order = o.publicCopy()
		close(f.ch)
		f.ch = make(chan struct{})
	}
}
