// Package invariants checks the checkout saga's invariants
// (../shared/RELIABILITY.md, "The checkout saga", 1–5 and 7) across the
// three services that take part in it, by reading their databases: the
// order service's orders and transitions, the catalog's stock,
// adjustments and reservations, and the payment service's own audit
// (ledger, processor records, payments).
//
// It is a test tool: services never read each other's tables, but a
// checker that wants to prove they agree has to. Run it once the system is
// quiescent (the processes stopped, or at least no checkout in flight):
//
//	r, err := invariants.Check(ctx, invariants.ForDataDir(dir))
//	if err != nil || !r.OK() {
//		t.Fatalf("invariants: %v\n%s", err, r)
//	}
package invariants

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bazaarhq/bazaar/internal/payment"
	paymentstore "github.com/bazaarhq/bazaar/internal/payment/store"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// Databases names the databases of the three services, as `bazaar up`'s
// --NAME-database-url flags take them. On Postgres each service uses the
// schema named after it, as `bazaar up` does.
type Databases struct {
	Catalog, Payment, Order string
}

// ForDataDir returns the SQLite files `bazaar up --data-dir dir` uses.
func ForDataDir(dir string) Databases {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	db := func(name string) string { return "sqlite://" + filepath.Join(abs, name+".db") }
	return Databases{Catalog: db("catalog"), Payment: db("payment"), Order: db("order")}
}

// Report is what Check found.
type Report struct {
	// Orders counts the orders, and how many are completed and cancelled.
	Orders, Completed, Cancelled int
	// Pending are the ids of orders not in a terminal state: a violation
	// of invariant 4 once faults have stopped and recovery had its time.
	Pending []string
	// Violations describe every broken invariant, prefixed by its number.
	Violations []string
}

// OK reports whether every invariant holds and every order is terminal.
func (r *Report) OK() bool { return r != nil && len(r.Violations) == 0 && len(r.Pending) == 0 }

// String lists the counts and every problem.
func (r *Report) String() string {
	if r == nil {
		return "no report"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d orders: %d completed, %d cancelled, %d pending", r.Orders, r.Completed, r.Cancelled, len(r.Pending))
	for _, id := range r.Pending {
		fmt.Fprintf(&b, "\n  pending: %s", id)
	}
	for _, v := range r.Violations {
		fmt.Fprintf(&b, "\n  violation: %s", v)
	}
	return b.String()
}

func (r *Report) violate(format string, args ...any) {
	r.Violations = append(r.Violations, fmt.Sprintf(format, args...))
}

// The order service's statuses and the catalog's reservation states as
// stored (internal/order and internal/catalog).
const (
	orderPending    = 1
	orderCompleted  = 2
	orderCancelling = 3
	orderCancelled  = 4

	reservationReserved  = 1
	reservationCommitted = 2
	reservationReleased  = 3
	reservationExpired   = 4
	reservationReturned  = 5
)

// allowed are the status changes an order may make (invariant 4).
var allowed = map[[2]int]bool{
	{orderPending, orderCompleted}:    true,
	{orderPending, orderCancelling}:   true,
	{orderCancelling, orderCancelled}: true,
	{orderCompleted, orderCancelling}: true,
}

type orderRow struct {
	id, paymentID string
	status        int
	total         int64 // billionths of total's currency
	sequence      int
}

// Check reads the three databases and reports every violation.
func Check(ctx context.Context, dbs Databases) (*Report, error) {
	r := &Report{}
	orders, err := readOrders(ctx, dbs.Order, r)
	if err != nil {
		return nil, fmt.Errorf("order database: %w", err)
	}
	reservations, err := checkCatalog(ctx, dbs.Catalog, r)
	if err != nil {
		return nil, fmt.Errorf("catalog database: %w", err)
	}
	audit, err := readAudit(ctx, dbs.Payment)
	if err != nil {
		return nil, fmt.Errorf("payment database: %w", err)
	}
	checkMoney(r, orders, audit)
	checkAgreement(r, orders, reservations, audit)
	return r, nil
}

// readOrders reads every order and checks its transitions (4) and events
// (7).
func readOrders(ctx context.Context, url string, r *Report) (map[string]orderRow, error) {
	db, err := sqldb.Open(ctx, url, sqldb.WithSchema("order"))
	if err != nil {
		return nil, err
	}
	defer func() { _ = db.Close() }()
	rows, err := db.QueryContext(ctx, `SELECT id, status, payment_id, total_units, total_nanos, sequence FROM orders ORDER BY id`)
	if err != nil {
		return nil, err
	}
	orders := map[string]orderRow{}
	for rows.Next() {
		var (
			o            orderRow
			units, nanos int64
		)
		if err := rows.Scan(&o.id, &o.status, &o.paymentID, &units, &nanos, &o.sequence); err != nil {
			_ = rows.Close()
			return nil, err
		}
		o.total = units*1_000_000_000 + nanos
		orders[o.id] = o
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}

	trans, err := db.QueryContext(ctx, `SELECT order_id, sequence, status FROM order_transitions ORDER BY order_id, sequence`)
	if err != nil {
		return nil, err
	}
	statuses := map[string][]int{}
	last := map[string]int{}
	for trans.Next() {
		var (
			id          string
			seq, status int
		)
		if err := trans.Scan(&id, &seq, &status); err != nil {
			_ = trans.Close()
			return nil, err
		}
		if seq != last[id]+1 {
			r.violate("4: order %s: transition %d follows %d (a gap or a repeat)", id, seq, last[id])
		}
		last[id] = seq
		statuses[id] = append(statuses[id], status)
	}
	if err := errors.Join(trans.Err(), trans.Close()); err != nil {
		return nil, err
	}

	events := map[string]int{}
	evs, err := db.QueryContext(ctx, `SELECT aggregate_id, COUNT(*) FROM outbox GROUP BY aggregate_id`)
	if err != nil {
		return nil, err
	}
	for evs.Next() {
		var (
			id string
			n  int
		)
		if err := evs.Scan(&id, &n); err != nil {
			_ = evs.Close()
			return nil, err
		}
		events[id] = n
	}
	if err := errors.Join(evs.Err(), evs.Close()); err != nil {
		return nil, err
	}

	ids := make([]string, 0, len(orders))
	for id := range orders {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		o := orders[id]
		r.Orders++
		switch o.status {
		case orderCompleted:
			r.Completed++
		case orderCancelled:
			r.Cancelled++
		default:
			r.Pending = append(r.Pending, id)
		}
		ss := statuses[id]
		switch {
		case len(ss) == 0:
			r.violate("4: order %s has no transitions", id)
			continue
		case ss[0] != orderPending:
			r.violate("4: order %s starts in status %d, not pending", id, ss[0])
		case ss[len(ss)-1] != o.status || last[id] != o.sequence:
			r.violate("4: order %s is in status %d at transition %d, but its last transition is %d in status %d",
				id, o.status, o.sequence, last[id], ss[len(ss)-1])
		}
		for i := 1; i < len(ss); i++ {
			if ss[i] != ss[i-1] && !allowed[[2]int{ss[i-1], ss[i]}] {
				r.violate("4: order %s went from status %d to %d", id, ss[i-1], ss[i])
			}
		}
		// 7: every state change has its event, appended with it.
		if events[id] != len(ss) {
			r.violate("7: order %s has %d transitions but %d events", id, len(ss), events[id])
		}
	}
	return orders, nil
}

// checkCatalog checks stock conservation (3) and returns the state of
// every reservation by id.
func checkCatalog(ctx context.Context, url string, r *Report) (map[string]int, error) {
	db, err := sqldb.Open(ctx, url, sqldb.WithSchema("catalog"))
	if err != nil {
		return nil, err
	}
	defer func() { _ = db.Close() }()

	type units struct{ added, available, reserved, sold, heldReserved, heldSold int64 }
	stock := map[string]*units{}
	at := func(sku string) *units {
		if stock[sku] == nil {
			stock[sku] = &units{}
		}
		return stock[sku]
	}
	if err := scanRows(ctx, db, `SELECT sku, available, reserved, sold FROM stocks`, func(scan func(...any) error) error {
		var (
			sku      string
			a, rs, s int64
		)
		if err := scan(&sku, &a, &rs, &s); err != nil {
			return err
		}
		u := at(sku)
		u.available, u.reserved, u.sold = a, rs, s
		return nil
	}); err != nil {
		return nil, err
	}
	if err := scanRows(ctx, db, `SELECT sku, SUM(delta) FROM stock_adjustments GROUP BY sku`, func(scan func(...any) error) error {
		var (
			sku   string
			added int64
		)
		if err := scan(&sku, &added); err != nil {
			return err
		}
		at(sku).added = added
		return nil
	}); err != nil {
		return nil, err
	}
	reservations := map[string]int{}
	if err := scanRows(ctx, db, `SELECT r.id, r.state, i.sku, i.quantity FROM reservations r
		JOIN reservation_items i ON i.reservation_id = r.id`, func(scan func(...any) error) error {
		var (
			id, sku string
			state   int
			q       int64
		)
		if err := scan(&id, &state, &sku, &q); err != nil {
			return err
		}
		reservations[id] = state
		switch state {
		case reservationReserved:
			at(sku).heldReserved += q
		case reservationCommitted:
			at(sku).heldSold += q
		}
		return nil
	}); err != nil {
		return nil, err
	}
	skus := make([]string, 0, len(stock))
	for sku := range stock {
		skus = append(skus, sku)
	}
	slices.Sort(skus)
	for _, sku := range skus {
		u := stock[sku]
		if u.available < 0 || u.reserved < 0 || u.sold < 0 {
			r.violate("3: SKU %s has negative units: %d available, %d reserved, %d sold", sku, u.available, u.reserved, u.sold)
		}
		if u.added != u.available+u.reserved+u.sold {
			r.violate("3: SKU %s: %d units added, but %d available + %d reserved + %d sold", sku, u.added, u.available, u.reserved, u.sold)
		}
		if u.reserved != u.heldReserved || u.sold != u.heldSold {
			r.violate("3: SKU %s: %d reserved and %d sold, but its reservations hold %d and sold %d",
				sku, u.reserved, u.sold, u.heldReserved, u.heldSold)
		}
	}
	return reservations, nil
}

func readAudit(ctx context.Context, url string) (payment.Audit, error) {
	st, err := paymentstore.Open(ctx, url, sqldb.WithSchema("payment"))
	if err != nil {
		return payment.Audit{}, err
	}
	defer func() { _ = st.Close() }()
	return st.Audit(ctx)
}

// checkMoney checks invariants 1 and 2.
func checkMoney(r *Report, orders map[string]orderRow, a payment.Audit) {
	for cur, sum := range a.Imbalance {
		r.violate("1: the ledger does not balance in %s (off by %d billionths)", cur, sum)
	}
	for _, m := range a.LedgerMismatches {
		r.violate("1: payment %s: %s", m.PaymentID, m.Problem)
	}
	for _, m := range a.ProcessorMismatches {
		r.violate("1: payment %s disagrees with the processor: %s", m.PaymentID, m.Problem)
	}
	for id, o := range orders {
		pay := a.Orders[id]
		net := pay.Captured - pay.Refunded
		switch o.status {
		case orderCompleted:
			if net != o.total {
				r.violate("1: completed order %s: captured %d - refunded %d, want its total %d", id, pay.Captured, pay.Refunded, o.total)
			}
		case orderCancelled:
			if net != 0 {
				r.violate("1: cancelled order %s keeps %d billionths (captured %d, refunded %d)", id, net, pay.Captured, pay.Refunded)
			}
		}
		if pay.Captures > 1 {
			r.violate("2: order %s was captured %d times", id, pay.Captures)
		}
	}
	for id, pay := range a.Orders {
		if _, ok := orders[id]; !ok && pay.Captured-pay.Refunded != 0 {
			r.violate("1: payments keep %d billionths for %s, which is no order", pay.Captured-pay.Refunded, id)
		}
	}
}

// checkAgreement checks invariant 5: completed <=> captured <=> committed;
// cancelled => voided, refunded or declined (or never paid) and released,
// expired or returned (or never reserved).
func checkAgreement(r *Report, orders map[string]orderRow, reservations map[string]int, a payment.Audit) {
	for id, o := range orders {
		res, reserved := reservations[id]
		statuses := a.Orders[id].Statuses
		switch o.status {
		case orderCompleted:
			if !reserved || res != reservationCommitted {
				r.violate("5: completed order %s: reservation state %d (present %v), want committed", id, res, reserved)
			}
			if st, ok := statuses[o.paymentID]; !ok || st != payment.StatusCaptured {
				r.violate("5: completed order %s: payment %s is %v, want captured", id, o.paymentID, st)
			}
		case orderCancelled:
			if reserved && res != reservationReleased && res != reservationExpired && res != reservationReturned {
				r.violate("5: cancelled order %s: reservation state %d, want released, expired or returned", id, res)
			}
			for pid, st := range statuses {
				if st != payment.StatusVoided && st != payment.StatusRefunded && st != payment.StatusDeclined {
					r.violate("5: cancelled order %s: payment %s is %v, want voided, refunded or declined", id, pid, st)
				}
			}
		}
	}
	for id, state := range reservations {
		if _, ok := orders[id]; !ok && state == reservationReserved {
			r.violate("5: reservation %s holds stock for no order", id)
		}
	}
}

// scanRows runs query and calls fn for each row.
func scanRows(ctx context.Context, db *sqldb.DB, query string, fn func(scan func(...any) error) error) error {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			_ = rows.Close()
			return err
		}
	}
	return errors.Join(rows.Err(), rows.Close())
}
