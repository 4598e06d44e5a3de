package notification_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/bazaarhq/bazaar/internal/notification"
	"github.com/bazaarhq/bazaar/internal/order"
	"github.com/bazaarhq/bazaar/internal/payment"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

func TestHandleEventTopics(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		event     func(t *testing.T) notification.Event
		wantKind  notification.Kind
		wantTitle string
		wantBody  []string
	}{
		{"placed", func(t *testing.T) notification.Event { return orderEvent(t, order.TopicPlaced, "o-1", "alice", "") },
			notification.KindOrderPlaced, "Order o-1 placed", []string{"25.00 EUR", "2 × Chef's knife (KNIFE-1) at 12.50 EUR"}},
		{"completed is paid", func(t *testing.T) notification.Event { return orderEvent(t, order.TopicCompleted, "o-1", "alice", "") },
			notification.KindOrderPaid, "Order o-1 paid", []string{"payment of 25.00 EUR"}},
		{"cancelled with reason", func(t *testing.T) notification.Event {
			return orderEvent(t, order.TopicCancelled, "o-1", "alice", "payment declined: insufficient funds")
		}, notification.KindOrderCancelled, "Order o-1 cancelled", []string{"cancelled: payment declined: insufficient funds"}},
		{"refunded", func(t *testing.T) notification.Event { return refundEvent(t, "o-1", "alice", 12_500_000_000) },
			notification.KindPaymentRefunded, "Refund of 12.50 EUR for order o-1", []string{"refunded 12.50 EUR"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc := newService(t, openStore(t), notification.Config{})
			apply(t, svc, tc.event(t))
			ns := list(t, svc, "alice")
			if len(ns) != 1 {
				t.Fatalf("alice has %d notifications, want 1", len(ns))
			}
			n := ns[0]
			if n.Kind != tc.wantKind || n.Title != tc.wantTitle || n.ID != 1 || n.OrderID != "o-1" || n.UserID != "alice" {
				t.Errorf("notification = %+v, want kind %v title %q", n, tc.wantKind, tc.wantTitle)
			}
			for _, w := range tc.wantBody {
				if !strings.Contains(n.Body, w) {
					t.Errorf("body %q does not contain %q", n.Body, w)
				}
			}
			if others := list(t, svc, "bob"); len(others) != 0 {
				t.Errorf("bob sees %d notifications, want 0", len(others))
			}
			ms, _, err := svc.ListEmails(t.Context(), user("alice"), notification.ListEmailsRequest{})
			if err != nil || len(ms) != 1 || ms[0].Subject != tc.wantTitle || ms[0].To != "alice@users.bazaar.invalid" {
				t.Errorf("ListEmails(alice) = %+v, %v; want one e-mail %q", ms, err, tc.wantTitle)
			}
		})
	}
}

func TestHandleEventIgnores(t *testing.T) {
	t.Parallel()
	svc := newService(t, openStore(t), notification.Config{})
	apply(t, svc,
		orderEvent(t, order.TopicProgressed, "o-1", "alice", ""),
		orderEvent(t, order.TopicCancelling, "o-1", "alice", "x"),
		refundEvent(t, "o-1", "alice", 1), // a refund: notified
	)
	captured := refundEvent(t, "o-1", "alice", 1)
	captured.Topic = payment.TopicCaptured
	unknown := orderEvent(t, "order.teleported.v1", "o-1", "alice", "")
	garbage := orderEvent(t, order.TopicPlaced, "o-1", "alice", "")
	garbage.Payload = []byte("{not json")
	apply(t, svc, captured, unknown, garbage)
	if ns := list(t, svc, "alice"); len(ns) != 1 || ns[0].Kind != notification.KindPaymentRefunded {
		t.Errorf("notifications = %+v, want only the refund", ns)
	}
	if s := svc.Stats(); s.Ignored != 2 || s.Handled != 4 {
		t.Errorf("Stats() = %+v, want 2 ignored (unknown topic, bad payload), 4 handled", s)
	}
}

func TestApplySameEventTwice(t *testing.T) {
	t.Parallel()
	svc := newService(t, openStore(t), notification.Config{})
	e := orderEvent(t, order.TopicPlaced, "o-1", "alice", "")
	apply(t, svc, e, e)
	if ns := list(t, svc, "alice"); len(ns) != 1 {
		t.Errorf("after applying one event twice: %d notifications, want 1", len(ns))
	}
	if s := svc.Stats(); s.Duplicates != 1 {
		t.Errorf("Stats().Duplicates = %d, want 1", s.Duplicates)
	}
}

func TestBackInStock(t *testing.T) {
	t.Parallel()
	svc := newService(t, openStore(t), notification.Config{})
	ctx := t.Context()
	for _, a := range []struct {
		user         string
		stock, price bool
	}{{"watcher", true, false}, {"wisher", false, true}, {"both", true, true}} {
		if _, err := svc.SetProductAlert(ctx, user(a.user), "p-1", a.stock, a.price); err != nil {
			t.Fatal(err)
		}
	}
	apply(t, svc,
		stockEvent(t, "p-1", 0, t0, false),                    // first seen: recorded only
		stockEvent(t, "p-1", 5, t0.Add(time.Minute), false),   // 0 -> 5: back in stock
		stockEvent(t, "p-1", 3, t0.Add(2*time.Minute), false), // 5 -> 3: nothing
		stockEvent(t, "p-1", 0, t0.Add(3*time.Minute), false),
		stockEvent(t, "p-1", 9, t0.Add(time.Second), false),  // older than the state: ignored
		stockEvent(t, "p-1", 2, t0.Add(4*time.Minute), true), // 0 -> 2 of a draft: nobody told
		stockEvent(t, "p-2", 0, t0, false),
		stockEvent(t, "p-2", 1, t0.Add(time.Minute), false), // nobody watches p-2
	)
	for u, want := range map[string]int{"watcher": 1, "wisher": 0, "both": 1} {
		ns := list(t, svc, u)
		if len(ns) != want {
			t.Errorf("%s has %d notifications, want %d: %+v", u, len(ns), want, ns)
			continue
		}
		if want == 1 && (ns[0].Kind != notification.KindBackInStock || ns[0].ProductID != "p-1" ||
			ns[0].Title != "SKU-p-1 is back in stock" || !strings.Contains(ns[0].Body, "5 available")) {
			t.Errorf("%s's notification = %+v", u, ns[0])
		}
	}
}

func TestPriceDrop(t *testing.T) {
	t.Parallel()
	svc := newService(t, openStore(t), notification.Config{})
	for _, a := range []struct {
		user         string
		stock, price bool
	}{{"watcher", true, false}, {"wisher", false, true}} {
		if _, err := svc.SetProductAlert(t.Context(), user(a.user), "p-1", a.stock, a.price); err != nil {
			t.Fatal(err)
		}
	}
	apply(t, svc,
		priceEvent(t, "p-1", 20, t0),                    // first seen
		priceEvent(t, "p-1", 15, t0.Add(time.Minute)),   // drop
		priceEvent(t, "p-1", 18, t0.Add(2*time.Minute)), // rise
		priceEvent(t, "p-1", 18, t0.Add(3*time.Minute)), // same
	)
	ns := list(t, svc, "wisher")
	if len(ns) != 1 || ns[0].Kind != notification.KindPriceDrop || ns[0].Title != "Price drop: SKU-p-1 now 15.00 EUR" ||
		!strings.Contains(ns[0].Body, "from 20.00 EUR to 15.00 EUR") {
		t.Errorf("wisher's notifications = %+v, want one price drop 20 -> 15", ns)
	}
	if ns := list(t, svc, "watcher"); len(ns) != 0 {
		t.Errorf("watcher has %d notifications, want 0 (watching is not wishlisting)", len(ns))
	}
}

func TestHandleEventInCallerTx(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	svc := newService(t, st, notification.Config{Heartbeat: time.Hour})
	ctx := t.Context()
	sub, err := svc.Subscribe(ctx, user("alice"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	// A rolled back transaction leaves nothing, and announces nothing.
	boom := errors.New("boom")
	rolledBack := orderEvent(t, order.TopicPlaced, "o-1", "alice", "")
	err = st.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		if err := svc.HandleEvent(ctx, tx, rolledBack); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v", err)
	}
	if ns := list(t, svc, "alice"); len(ns) != 0 {
		t.Fatalf("after rollback: %d notifications", len(ns))
	}

	// Committed: announced only when the consumer says so.
	e := orderEvent(t, order.TopicPlaced, "o-2", "alice", "")
	if err := st.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error { return svc.HandleEvent(ctx, tx, e) }); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if it, err := sub.Next(short); err == nil {
		t.Fatalf("Next before Committed = %+v, want nothing yet", it)
	}
	svc.Committed(e.ID, "unknown-event")
	it, err := sub.Next(ctx)
	if err != nil || it.Notification == nil || it.Notification.OrderID != "o-2" || it.Notification.ID != 1 {
		t.Fatalf("Next after Committed = %+v, %v; want o-2 with id 1", it, err)
	}
}

func TestMailFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "mail")
	svc := newService(t, openStore(t), notification.Config{MailDir: dir})
	apply(t, svc, orderEvent(t, order.TopicPlaced, "o-1", "alice", ""), orderEvent(t, order.TopicCompleted, "o-1", "alice", ""))
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 2 || names[0] != "000000000001.eml" || names[1] != "000000000002.eml" {
		t.Fatalf("mail dir = %v, want 000000000001.eml and 000000000002.eml only", names)
	}
	b, err := os.ReadFile(filepath.Join(dir, names[1]))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"To: alice@users.bazaar.invalid\r\n", "Subject: Order o-1 paid\r\n", "payment of 25.00 EUR"} {
		if !strings.Contains(string(b), w) {
			t.Errorf("e-mail file does not contain %q:\n%s", w, b)
		}
	}
}

// viaStruct is what the event transport does to a JSON payload: a
// google.protobuf.Struct on the wire (numbers become doubles), JSON again
// at the consumer (events.Event.PayloadJSON).
func viaStruct(t *testing.T, e notification.Event) notification.Event {
	t.Helper()
	var st structpb.Struct
	if err := protojson.Unmarshal(e.Payload, &st); err != nil {
		t.Fatal(err)
	}
	b, err := protojson.Marshal(&st)
	if err != nil {
		t.Fatal(err)
	}
	e.Payload = b
	return e
}

func TestPayloadThroughStruct(t *testing.T) {
	t.Parallel()
	svc := newService(t, openStore(t), notification.Config{})
	if _, err := svc.SetProductAlert(t.Context(), user("alice"), "p-1", true, true); err != nil {
		t.Fatal(err)
	}
	apply(t, svc,
		viaStruct(t, orderEvent(t, order.TopicPlaced, "o-1", "alice", "")),
		viaStruct(t, refundEvent(t, "o-1", "alice", 12_500_000_000)),
		viaStruct(t, priceEvent(t, "p-1", 20, t0)),
		viaStruct(t, priceEvent(t, "p-1", 15, t0.Add(time.Minute))),
	)
	ns := list(t, svc, "alice")
	var titles []string
	for _, n := range ns {
		titles = append(titles, n.Title)
	}
	want := []string{"Price drop: SKU-p-1 now 15.00 EUR", "Refund of 12.50 EUR for order o-1", "Order o-1 placed"}
	if strings.Join(titles, "|") != strings.Join(want, "|") {
		t.Errorf("titles = %q, want %q", titles, want)
	}
	if len(ns) == 3 && !strings.Contains(ns[2].Body, "2 × Chef's knife (KNIFE-1) at 12.50 EUR") {
		t.Errorf("placed body = %q, want the item at 12.50 EUR", ns[2].Body)
	}
	if s := svc.Stats(); s.Ignored != 0 {
		t.Errorf("Stats().Ignored = %d, want 0", s.Ignored)
	}
}
