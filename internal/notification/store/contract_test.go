package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bazaarhq/bazaar/internal/notification"
	"github.com/bazaarhq/bazaar/internal/notification/store"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb/sqldbtest"
)

func TestSQLite(t *testing.T) {
	t.Parallel()
	testContract(t, sqldbtest.SQLite())
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	testContract(t, sqldbtest.Postgres(t))
}

// t0 is the fixtures' time: UTC at the microsecond precision both engines
// keep.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

// testContract is the behaviour notification.Store promises, on every
// engine. Each case opens its own store, so cases run in parallel.
func testContract(t *testing.T, b sqldbtest.Backend) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, st *store.Store)
	}{
		{"IDsPerUserWithoutGaps", testIDsPerUser},
		{"ConcurrentIDsUniqueAndDense", testConcurrentIDs},
		{"RollbackLeavesNoGap", testRollbackNoGap},
		{"ListAndPage", testList},
		{"NotificationsAfter", testAfter},
		{"MarkRead", testMarkRead},
		{"EventHandledOnce", testEventHandled},
		{"ProductState", testProductState},
		{"ProductAlerts", testAlerts},
		{"Emails", testEmails},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tg := b.Fresh(t, "notification")
			st, err := store.Open(t.Context(), tg.URL, tg.Options...)
			if err != nil {
				t.Fatalf("store.Open() = %v", err)
			}
			t.Cleanup(func() {
				if err := st.Close(); err != nil {
					t.Errorf("Close() = %v", err)
				}
			})
			tc.run(t, st)
		})
	}
}

func add(t *testing.T, st *store.Store, user string, title string) notification.Notification {
	t.Helper()
	n := notification.Notification{UserID: user, Kind: notification.KindOrderPlaced, Title: title, Body: "body of " + title,
		OrderID: "o-1", EventID: "e-" + title, CreateTime: t0}
	if err := st.InTx(t.Context(), func(ctx context.Context, tx *sqldb.Tx) error {
		return st.AddNotification(ctx, tx, &n)
	}); err != nil {
		t.Fatalf("AddNotification(%s) = %v", title, err)
	}
	return n
}

func ids(ns []notification.Notification) []int64 {
	out := make([]int64, len(ns))
	for i, n := range ns {
		out[i] = n.ID
	}
	return out
}

func testIDsPerUser(t *testing.T, st *store.Store) {
	for i, u := range []string{"alice", "bob", "alice", "alice", "bob"} {
		n := add(t, st, u, "n"+string(rune('a'+i)))
		want := map[int]int64{0: 1, 1: 1, 2: 2, 3: 3, 4: 2}[i]
		if n.ID != want {
			t.Errorf("add #%d for %s: id %d, want %d", i, u, n.ID, want)
		}
	}
	got, err := st.NotificationsAfter(t.Context(), "alice", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Title != "na" || got[0].Body != "body of na" || !got[0].CreateTime.Equal(t0) ||
		got[0].Kind != notification.KindOrderPlaced || got[0].OrderID != "o-1" || !got[0].ReadTime.IsZero() {
		t.Errorf("NotificationsAfter(alice, 0) = %+v", got)
	}
}

func testConcurrentIDs(t *testing.T, st *store.Store) {
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { add(t, st, "carol", "c"+string(rune('a'+i))) })
	}
	wg.Wait()
	got, err := st.NotificationsAfter(t.Context(), "carol", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]int64, n)
	for i := range want {
		want[i] = int64(i + 1)
	}
	if diff := cmp.Diff(want, ids(got)); diff != "" {
		t.Errorf("ids after %d concurrent adds (-want +got):\n%s", n, diff)
	}
}

func testRollbackNoGap(t *testing.T, st *store.Store) {
	boom := errors.New("boom")
	err := st.InTx(t.Context(), func(ctx context.Context, tx *sqldb.Tx) error {
		n := notification.Notification{UserID: "dave", Title: "x", EventID: "e", CreateTime: t0}
		if err := st.AddNotification(ctx, tx, &n); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want boom", err)
	}
	if n := add(t, st, "dave", "after"); n.ID != 1 {
		t.Errorf("id after a rolled back add = %d, want 1", n.ID)
	}
}

func testList(t *testing.T, st *store.Store) {
	for i := range 5 {
		add(t, st, "erin", "t"+string(rune('0'+i)))
	}
	add(t, st, "frank", "other")
	ctx := t.Context()
	page, err := st.ListNotifications(ctx, notification.ListQuery{UserID: "erin", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{5, 4}, ids(page)); diff != "" {
		t.Errorf("first page (-want +got):\n%s", diff)
	}
	page, err = st.ListNotifications(ctx, notification.ListQuery{UserID: "erin", BeforeID: 4, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{3, 2, 1}, ids(page)); diff != "" {
		t.Errorf("page before 4 (-want +got):\n%s", diff)
	}
	if _, err := st.MarkRead(ctx, "erin", []int64{2, 5}, 0, t0); err != nil {
		t.Fatal(err)
	}
	page, err = st.ListNotifications(ctx, notification.ListQuery{UserID: "erin", UnreadOnly: true, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{4, 3, 1}, ids(page)); diff != "" {
		t.Errorf("unread (-want +got):\n%s", diff)
	}
}

func testAfter(t *testing.T, st *store.Store) {
	for range 4 {
		add(t, st, "gina", "g")
	}
	got, err := st.NotificationsAfter(t.Context(), "gina", 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{2, 3}, ids(got)); diff != "" {
		t.Errorf("NotificationsAfter(1, limit 2) (-want +got):\n%s", diff)
	}
}

func testMarkRead(t *testing.T, st *store.Store) {
	for range 5 {
		add(t, st, "hank", "h")
		add(t, st, "ivy", "i")
	}
	ctx := t.Context()
	at := t0.Add(time.Hour)
	for _, tc := range []struct {
		ids  []int64
		upTo int64
		want int
	}{
		{[]int64{4}, 0, 1},
		{nil, 2, 2},
		{[]int64{1, 4, 5}, 3, 2}, // 1, 2, 4 already read: 3 and 5
		{[]int64{1}, 5, 0},
		{nil, 0, 0},
	} {
		n, err := st.MarkRead(ctx, "hank", tc.ids, tc.upTo, at)
		if err != nil || n != tc.want {
			t.Errorf("MarkRead(hank, %v, %d) = %d, %v; want %d", tc.ids, tc.upTo, n, err, tc.want)
		}
	}
	got, err := st.NotificationsAfter(ctx, "hank", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range got {
		if !n.ReadTime.Equal(at) {
			t.Errorf("hank's #%d read time = %v, want %v", n.ID, n.ReadTime, at)
		}
	}
	unread, err := st.ListNotifications(ctx, notification.ListQuery{UserID: "ivy", UnreadOnly: true, Limit: 10})
	if err != nil || len(unread) != 5 {
		t.Errorf("ivy's unread = %d, %v; want 5 (another user's MarkRead touches nothing of hers)", len(unread), err)
	}
}

func testEventHandled(t *testing.T, st *store.Store) {
	mark := func(id string, at time.Time) bool {
		t.Helper()
		var first bool
		if err := st.InTx(t.Context(), func(ctx context.Context, tx *sqldb.Tx) error {
			var err error
			first, err = st.MarkEventHandled(ctx, tx, id, at)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return first
	}
	mark("ev-old", t0.Add(-48*time.Hour))
	if n, err := st.PruneHandledEvents(t.Context(), t0.Add(-time.Hour)); err != nil || n != 1 {
		t.Errorf("PruneHandledEvents() = %d, %v; want 1", n, err)
	}
	if !mark("ev-old", t0) {
		t.Errorf("MarkEventHandled(pruned id) = false, want true")
	}
	for i, want := range []bool{true, false} {
		var first bool
		if err := st.InTx(t.Context(), func(ctx context.Context, tx *sqldb.Tx) error {
			var err error
			first, err = st.MarkEventHandled(ctx, tx, "ev-1", t0)
			return err
		}); err != nil || first != want {
			t.Errorf("MarkEventHandled #%d = %v, %v; want %v", i, first, err, want)
		}
	}
}

func testProductState(t *testing.T, st *store.Store) {
	ctx := t.Context()
	var got notification.ProductState
	var ok bool
	read := func() {
		t.Helper()
		if err := st.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
			var err error
			got, ok, err = st.ProductState(ctx, tx, "p-1")
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	put := func(s notification.ProductState) {
		t.Helper()
		if err := st.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error { return st.PutProductState(ctx, tx, s) }); err != nil {
			t.Fatal(err)
		}
	}
	read()
	if ok {
		t.Fatalf("ProductState(unknown) ok")
	}
	s1 := notification.ProductState{ProductID: "p-1", HasPrice: true, Price: notification.Money{Currency: "EUR", Units: 12, Nanos: 500_000_000}, PriceTime: t0}
	put(s1)
	read()
	if diff := cmp.Diff(s1, got); !ok || diff != "" {
		t.Errorf("ProductState after price (-want +got):\n%s", diff)
	}
	s2 := s1
	s2.HasStock, s2.Available, s2.StockTime = true, 0, t0.Add(time.Second)
	put(s2)
	read()
	if diff := cmp.Diff(s2, got); diff != "" {
		t.Errorf("ProductState after stock (-want +got):\n%s", diff)
	}
}

func testAlerts(t *testing.T, st *store.Store) {
	ctx := t.Context()
	set := func(u, p string, stock, drop bool) {
		t.Helper()
		if err := st.SetProductAlert(ctx, notification.ProductAlert{UserID: u, ProductID: p, BackInStock: stock, PriceDrop: drop, UpdateTime: t0}); err != nil {
			t.Fatal(err)
		}
	}
	set("zoe", "p-1", true, false)
	set("amy", "p-1", true, true)
	set("amy", "p-2", false, true)
	set("bea", "p-1", false, true)
	set("bea", "p-1", false, false) // removed
	users := func(p string, k notification.AlertKind) []string {
		t.Helper()
		var us []string
		if err := st.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
			var err error
			us, err = st.AlertedUsers(ctx, tx, p, k)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return us
	}
	if got := users("p-1", notification.AlertBackInStock); !slices.Equal(got, []string{"amy", "zoe"}) {
		t.Errorf("AlertedUsers(p-1, back in stock) = %v, want [amy zoe]", got)
	}
	if got := users("p-1", notification.AlertPriceDrop); !slices.Equal(got, []string{"amy"}) {
		t.Errorf("AlertedUsers(p-1, price drop) = %v, want [amy]", got)
	}
	as, err := st.ListProductAlerts(ctx, "amy", 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []notification.ProductAlert{
		{UserID: "amy", ProductID: "p-1", BackInStock: true, PriceDrop: true, UpdateTime: t0},
		{UserID: "amy", ProductID: "p-2", PriceDrop: true, UpdateTime: t0},
	}
	if diff := cmp.Diff(want, as); diff != "" {
		t.Errorf("ListProductAlerts(amy) (-want +got):\n%s", diff)
	}
	if as, _ := st.ListProductAlerts(ctx, "bea", 10); len(as) != 0 {
		t.Errorf("ListProductAlerts(bea) = %v, want none (removed)", as)
	}
}

func testEmails(t *testing.T, st *store.Store) {
	ctx := t.Context()
	var made []notification.Email
	for i, u := range []string{"amy", "bob", "amy"} {
		m := notification.Email{UserID: u, To: u + "@x.invalid", Subject: "s" + string(rune('0'+i)), Body: "b", EventID: "e", CreateTime: t0}
		if err := st.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error { return st.AddEmail(ctx, tx, &m) }); err != nil {
			t.Fatal(err)
		}
		made = append(made, m)
	}
	if made[0].ID >= made[1].ID || made[1].ID >= made[2].ID {
		t.Errorf("e-mail ids not increasing: %d %d %d", made[0].ID, made[1].ID, made[2].ID)
	}
	amy, err := st.ListEmails(ctx, notification.EmailQuery{UserID: "amy", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]notification.Email{made[2], made[0]}, amy); diff != "" {
		t.Errorf("ListEmails(amy) (-want +got):\n%s", diff)
	}
	all, err := st.ListEmails(ctx, notification.EmailQuery{BeforeID: made[2].ID, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]notification.Email{made[1], made[0]}, all); diff != "" {
		t.Errorf("ListEmails(all, before last) (-want +got):\n%s", diff)
	}
}
