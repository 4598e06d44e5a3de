package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// demoSteps are the tour's steps, as the summary names them.
var demoSteps = []string{
	"Sign up a customer and sign in",
	"Browse and search the catalog",
	"Upload a product image and download it back",
	"Subscribe to notifications",
	"Place an order and watch its saga",
	"The order's notifications arrive",
	"A declined card cancels the order",
	"Chat with a support agent",
	"A permission error",
	"A rate-limit error",
}

// checkDemoOutput wants every step passed in the summary and each RPC type
// and the two errors shown.
func checkDemoOutput(t *testing.T, out string) {
	t.Helper()
	for i, name := range demoSteps {
		if !regexp.MustCompile(`(?m)^\s+` + fmt.Sprint(i+1) + `\s+passed\s+` + regexp.QuoteMeta(name) + `$`).MatchString(out) {
			t.Errorf("the summary does not show step %d %q as passed", i+1, name)
		}
	}
	for _, want := range []string{
		fmt.Sprintf("%d of %d steps passed, 0 failed", len(demoSteps), len(demoSteps)),
		"unary", "server streaming", "client streaming", "bidi streaming",
		"/bazaar.catalog.v1.CatalogService/UploadProductImage",
		"/bazaar.order.v1.OrderService/WatchOrder",
		"/bazaar.notification.v1.SupportService/Chat",
		"PermissionDenied", "ResourceExhausted", "retry after:", "PAYMENT_DECLINED", "order completed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo's output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

// TestDemoSelf runs the whole tour against a bazaar up it starts itself,
// with the default rate limits.
func TestDemoSelf(t *testing.T) {
	t.Parallel()
	out := &syncBuffer{}
	start := time.Now()
	if err := demoCommand(t.Context(), []string{"--self"}, noEnv, out); err != nil {
		t.Fatalf("bazaar demo --self = %v\n%s", err, out.String())
	}
	t.Logf("bazaar demo --self took %v", time.Since(start))
	if strings.Contains(out.String(), "level=") {
		t.Errorf("bazaar up's logs are mixed into the tour:\n%s", out.String())
	}
	checkDemoOutput(t, out.String())
	// The demo plans its anonymous calls around the default budget: from a
	// full bucket of 20, two Logins of 10, then the third is refused.
	if !strings.Contains(out.String(), "call 3: the per-address budget is spent") {
		t.Errorf("the rate-limit step was not refused at the third Login:\n%s", out.String())
	}
	if testing.Verbose() {
		t.Logf("output:\n%s", out.String())
	}
}

// TestDemoAgainstUp runs the tour against a bazaar up started apart, as a
// newcomer does after `bazaar up`: its addresses from flags, the admin's
// password given, the shipped anonymous rate limit.
func TestDemoAgainstUp(t *testing.T) {
	t.Parallel()
	const adminPassword = "admin password 4 tests"
	addrs, stop := startUp(t, "--admin-password", adminPassword, "--anonymous-rate-limit", "10/20")
	args := []string{"--admin-password", adminPassword}
	for _, name := range []string{"identity", "catalog", "order", "notification"} {
		args = append(args, "--"+name+"-addr", addrs[name])
	}
	out := &syncBuffer{}
	if err := demoCommand(t.Context(), args, noEnv, out); err != nil {
		t.Fatalf("bazaar demo %q = %v\n%s", args, err, out.String())
	}
	checkDemoOutput(t, out.String())
	if testing.Verbose() {
		t.Logf("output:\n%s", out.String())
	}
	if err := stop(); err != nil {
		t.Errorf("run(up) after cancel = %v", err)
	}

	// Against nothing listening: every step fails, and so does the demo.
	out = &syncBuffer{}
	if err := demoCommand(t.Context(), []string{"--base-port", "1", "--timeout", "5s"}, noEnv, out); err == nil {
		t.Errorf("bazaar demo against nothing = nil error, want a failure\n%s", out.String())
	}
}
