package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
	identityv1 "github.com/bazaarhq/bazaar/gen/bazaar/identity/v1"
	notificationv1 "github.com/bazaarhq/bazaar/gen/bazaar/notification/v1"
	orderv1 "github.com/bazaarhq/bazaar/gen/bazaar/order/v1"
	"github.com/bazaarhq/bazaar/internal/catalog/images"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

const demoUsage = `usage: bazaar demo [flags]

A guided, narrated tour of Bazaar against a running 'bazaar up' (or, with
--self, one the demo starts itself on free ports with a temporary data
dir): it signs a new customer up, browses and searches the catalog, uploads
and downloads a product image, subscribes to notifications, places an
order that is paid and one that is declined while watching the saga,
chats with an agent, and shows a permission and a rate-limit error. Every
call prints its full method, its RPC type, its status and its result.

The admin steps need the bootstrap admin's password (--admin-password or
BAZAAR_ADMIN_PASSWORD), except with --self. The rate-limit step expects
'bazaar up's default anonymous budget (10/s, burst 20 per address).

`

// demoAnonRate and demoAnonBurst are `bazaar up`'s default budget of an
// anonymous caller (per IP address), which the demo plans its anonymous
// calls around.
const (
	demoAnonRate  = 10
	demoAnonBurst = 20
	demoLoginCost = 10 // Register and Login each
)

// RPC types, as the demo prints them.
const (
	demoUnary        = "unary"
	demoServerStream = "server streaming"
	demoClientStream = "client streaming"
	demoBidiStream   = "bidi streaming"
)

const (
	demoPaidCard     = "4242424242424242"
	demoDeclinedCard = "4000000000000002"
	demoPassword     = "correct horse battery 9"
)

// demoCommand runs `bazaar demo`.
func demoCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bazaar demo", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() { fmt.Fprint(stdout, demoUsage); fs.PrintDefaults() }
	host := fs.String("host", envOr(getenv, "HOST", "127.0.0.1"), "host of the running bazaar up (env BAZAAR_HOST)")
	basePort := fs.Int("base-port", 50051, "first service port of the running bazaar up; services are at base+i (env BAZAAR_BASE_PORT)")
	if v := getenv("BAZAAR_BASE_PORT"); v != "" {
		if p, err := strconv.Atoi(v); err == nil {
			*basePort = p
		}
	}
	adminPassword := fs.String("admin-password", getenv("BAZAAR_ADMIN_PASSWORD"), "the bootstrap admin's password (env BAZAAR_ADMIN_PASSWORD)")
	self := fs.Bool("self", false, "start a bazaar up of the demo's own on free ports and a temporary data dir, and stop it at the end")
	timeout := fs.Duration("timeout", 2*time.Minute, "deadline of the whole demo")
	overrides := map[string]*string{}
	for _, s := range services {
		envName := strings.ToUpper(s.name) + "_ADDR"
		overrides[s.name] = fs.String(s.name+"-addr", getenv("BAZAAR_"+envName), s.name+" host:port, overriding base-port (env BAZAAR_"+envName+")")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return fmt.Errorf("bazaar demo takes no arguments, got %q", fs.Args())
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	addrs := map[string]string{}
	failed := false
	if *self {
		if *adminPassword == "" {
			*adminPassword = "demo admin " + randomPrefix()
		}
		got, stop, upOut, err := demoStartUp(ctx, *adminPassword, stdout)
		if err != nil {
			return err
		}
		defer func() {
			if err := stop(); err != nil {
				fmt.Fprintf(stdout, "stopping the demo's bazaar up: %v\n", err)
			}
			if failed {
				lines := strings.Split(strings.TrimSpace(upOut.String()), "\n")
				fmt.Fprintf(stdout, "\nThe demo's bazaar up said (last 30 lines):\n%s\n", strings.Join(lines[max(0, len(lines)-30):], "\n"))
			}
		}()
		addrs = got
	} else {
		for i, s := range services {
			addrs[s.name] = net.JoinHostPort(*host, strconv.Itoa(*basePort+i))
		}
	}
	for name, a := range overrides {
		if *a != "" {
			addrs[name] = *a
		}
	}
	d, err := newDemo(addrs, *adminPassword, stdout)
	if err != nil {
		return err
	}
	defer d.close()
	if *self {
		// Its services have just fetched their own OAuth2 tokens (Token,
		// cost 5) from this address: the budget starts partly spent.
		d.lastAnon = time.Now()
	}
	err = d.run(ctx)
	failed = err != nil
	return err
}

// demoStartUp runs `bazaar up` in this process on free ports, its output
// captured (shown only if it fails), and waits for its listener table.
// stop cancels it and returns its error.
func demoStartUp(ctx context.Context, adminPassword string, stdout io.Writer) (map[string]string, func() error, *demoBuffer, error) {
	dir, err := os.MkdirTemp("", "bazaar-demo-")
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	out := &demoBuffer{}
	// The default rate limits on purpose: the demo shows one. A little
	// card latency lets WatchOrder show the saga live.
	args := []string{"up", "--base-port", "0", "--admin-addr", "127.0.0.1:0", "--data-dir", dir,
		"--admin-password", adminPassword, "--card-latency", "200ms"}
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- run(ctx, args, func(string) string { return "" }, out) }()
	stop := func() error {
		cancel()
		err := <-done
		return errors.Join(err, os.RemoveAll(dir))
	}
	deadline := time.After(30 * time.Second)
	for !strings.Contains(out.String(), "data dir:") {
		select {
		case err := <-done:
			cancel()
			_ = os.RemoveAll(dir)
			return nil, nil, nil, fmt.Errorf("bazaar up ended before serving (%w); its output:\n%s", err, out.String())
		case <-deadline:
			_ = stop()
			return nil, nil, nil, fmt.Errorf("bazaar up printed no listener table in 30s; its output:\n%s", out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	addrs := map[string]string{}
	row := regexp.MustCompile(`(?m)^(\w+)\s+(?:http://)?(127\.0\.0\.1:\d+)\s`)
	for _, m := range row.FindAllStringSubmatch(out.String(), -1) {
		addrs[m[1]] = m[2]
	}
	fmt.Fprintf(stdout, "Started bazaar up in this process (--self) in %v: data dir %s, default rate limits, card latency 200ms.\n",
		time.Since(start).Round(time.Millisecond), dir)
	for _, s := range services {
		fmt.Fprintf(stdout, "  %-13s %s\n", s.name, addrs[s.name])
	}
	fmt.Fprintln(stdout)
	return addrs, stop, out, nil
}

// demoBuffer is a bytes.Buffer safe for one writer and one reader.
type demoBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *demoBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *demoBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// demo is one tour: its clients, what earlier steps found out, and the
// results.
type demoTour struct {
	out           io.Writer
	addrs         map[string]string
	adminPassword string
	conns         []*grpc.ClientConn

	id      identityv1.IdentityServiceClient
	catalog catalogv1.CatalogServiceClient
	orders  orderv1.OrderServiceClient
	notes   notificationv1.NotificationServiceClient
	support notificationv1.SupportServiceClient

	// lastAnon is when the demo last spent the anonymous budget, and how
	// much it had left then at most (planning, not a measurement).
	lastAnon time.Time

	email       string
	customer    string // access token
	admin       string // access token
	productID   string
	productSKU  string
	paidOrderID string

	notifications chan *notificationv1.Notification
	subErr        atomic.Pointer[error] // why the subscription ended
	stopSub       func()

	results []demoResult
}

type demoResult struct {
	name string
	err  error
}

func newDemo(addrs map[string]string, adminPassword string, out io.Writer) (*demoTour, error) {
	d := &demoTour{out: out, addrs: addrs, adminPassword: adminPassword, stopSub: func() {}}
	conn := func(service string) (*grpc.ClientConn, error) {
		addr := addrs[service]
		if addr == "" {
			return nil, fmt.Errorf("no address for the %s service", service)
		}
		// The project's client stack: retries of UNAVAILABLE, deadlines,
		// circuit breaker.
		cc, err := grpcx.NewClient(addr, grpcx.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, fmt.Errorf("%s client: %w", service, err)
		}
		d.conns = append(d.conns, cc)
		return cc, nil
	}
	var ccs [4]*grpc.ClientConn
	for i, s := range []string{"identity", "catalog", "order", "notification"} {
		cc, err := conn(s)
		if err != nil {
			d.close()
			return nil, err
		}
		ccs[i] = cc
	}
	d.id = identityv1.NewIdentityServiceClient(ccs[0])
	d.catalog = catalogv1.NewCatalogServiceClient(ccs[1])
	d.orders = orderv1.NewOrderServiceClient(ccs[2])
	d.notes = notificationv1.NewNotificationServiceClient(ccs[3])
	d.support = notificationv1.NewSupportServiceClient(ccs[3])
	return d, nil
}

func (d *demoTour) close() {
	d.stopSub()
	for _, cc := range d.conns {
		_ = cc.Close()
	}
}

// run runs every step in order and prints the summary; an error when any
// step failed.
func (d *demoTour) run(ctx context.Context) error {
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"Sign up a customer and sign in", d.stepSignUp},
		{"Browse and search the catalog", d.stepBrowse},
		{"Upload a product image and download it back", d.stepImage},
		{"Subscribe to notifications", d.stepSubscribe},
		{"Place an order and watch its saga", d.stepOrder},
		{"The order's notifications arrive", d.stepNotifications},
		{"A declined card cancels the order", d.stepDeclined},
		{"Chat with a support agent", d.stepChat},
		{"A permission error", d.stepPermission},
		{"A rate-limit error", d.stepRateLimit},
	}
	fmt.Fprintf(d.out, "Bazaar demo: %d steps against identity %s, catalog %s, order %s, notification %s\n",
		len(steps), d.addrs["identity"], d.addrs["catalog"], d.addrs["order"], d.addrs["notification"])
	fmt.Fprintf(d.out, "Each call: its RPC type, its status code, its full method, then → what came back.\n")
	for i, s := range steps {
		fmt.Fprintf(d.out, "\n── Step %d/%d: %s %s\n", i+1, len(steps), s.name, strings.Repeat("─", max(3, 60-len(s.name))))
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := s.fn(sctx)
		cancel()
		if err != nil {
			fmt.Fprintf(d.out, "  ✗ FAILED: %s\n", demoIndent(err.Error()))
		} else {
			fmt.Fprintf(d.out, "  ✓ passed\n")
		}
		d.results = append(d.results, demoResult{s.name, err})
		if ctx.Err() != nil {
			break
		}
	}
	d.stopSub()
	failed := 0
	fmt.Fprintf(d.out, "\n── Summary %s\n", strings.Repeat("─", 60))
	for i, r := range d.results {
		mark := "passed"
		if r.err != nil {
			mark = "FAILED"
			failed++
		}
		fmt.Fprintf(d.out, "  %2d  %-6s  %s\n", i+1, mark, r.name)
	}
	missing := len(steps) - len(d.results)
	fmt.Fprintf(d.out, "%d of %d steps passed, %d failed", len(d.results)-failed, len(steps), failed)
	if missing > 0 {
		fmt.Fprintf(d.out, ", %d not run (%v)", missing, ctx.Err())
	}
	fmt.Fprintln(d.out)
	if failed+missing > 0 {
		return fmt.Errorf("demo: %d of %d steps failed", failed+missing, len(steps))
	}
	return nil
}

// call prints one RPC: its type, its status, its full method, and the
// result (or the error, rendered with its details by describe).
func (d *demoTour) call(kind, method string, err error, result string, args ...any) {
	if err != nil {
		d.line(kind, errs.FromError(err).Code, method, strings.TrimSpace(describe(err).Error()))
		return
	}
	if result != "" {
		result = fmt.Sprintf(result, args...)
	}
	d.line(kind, codes.OK, method, result)
}

// line prints one call: type, status code and full method, then its result
// indented under the method.
func (d *demoTour) line(kind string, code codes.Code, method, result string) {
	fmt.Fprintf(d.out, "  %-16s  %-17s  %s\n", kind, code, method)
	if result != "" {
		fmt.Fprintf(d.out, "  %-16s  %-17s  → %s\n", "", "", demoIndent(result))
	}
}

// note prints narration.
func (d *demoTour) note(format string, args ...any) {
	fmt.Fprintf(d.out, "  · %s\n", fmt.Sprintf(format, args...))
}

func demoIndent(s string) string {
	return strings.ReplaceAll(s, "\n", "\n"+strings.Repeat(" ", 41))
}

// demoSuffix makes SKUs unique: upper-case hex, as SKUs are.
func demoSuffix() string { return strings.ToUpper(randomPrefix()) }

func demoToken(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// budget waits until an anonymous call of cost would fit in the
// per-address budget as the demo has spent it (10/s refill, burst 20),
// saying so.
func (d *demoTour) budget(ctx context.Context, cost int, why string) error {
	need := time.Duration(float64(cost) / demoAnonRate * float64(time.Second))
	wait := need - time.Since(d.lastAnon)
	if d.lastAnon.IsZero() {
		return nil // nothing known spent: the retry on RESOURCE_EXHAUSTED covers the rest
	}
	if wait <= 0 {
		d.note("per-address budget: %s; at least %d refilled already, no wait", why, cost)
		return nil
	}
	wait = wait.Round(100 * time.Millisecond)
	d.note("per-address budget: %s; waiting %v for %d to refill", why, wait, cost)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(wait):
		return nil
	}
}

// anonymous makes an anonymous call of the identity service (Register,
// Login: cost 10 of the per-address budget), and, should the budget be
// spent anyway (other callers from this address, such as the services'
// own token fetches), waits as the RetryInfo says and tries again, once
// or twice.
func (d *demoTour) anonymous(ctx context.Context, method string, call func() error) error {
	for attempt := 0; ; attempt++ {
		err := call()
		dt := errs.FromError(err)
		if dt.Code != codes.ResourceExhausted || attempt == 3 {
			d.lastAnon = time.Now()
			return err
		}
		wait := max(dt.RetryDelay, 100*time.Millisecond)
		d.call(demoUnary, method, err, "")
		d.note("the per-address budget is spent (others call from this address too): waiting %v, as RetryInfo says", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// Step 1.
func (d *demoTour) stepSignUp(ctx context.Context) error {
	d.note("anonymous callers share a budget per address: %d calls/s, a burst of %d; Register and Login cost %d each,", demoAnonRate, demoAnonBurst, demoLoginCost)
	d.note("so the demo spaces its anonymous calls (a signed-in caller has a budget of its own: 50/s, burst 100)")
	if err := d.budget(ctx, demoAnonBurst, "bazaar up has just started, its services fetching their own OAuth2 tokens (Token, cost 5) from this address"); err != nil {
		return err
	}
	d.email = "demo-" + randomPrefix() + "@example.com"
	const register = "/bazaar.identity.v1.IdentityService/Register"
	var reg *identityv1.RegisterResponse
	err := d.anonymous(ctx, register, func() (err error) {
		reg, err = d.id.Register(ctx, &identityv1.RegisterRequest{Email: d.email, Password: demoPassword})
		return err
	})
	d.call(demoUnary, register, err, "customer %s, id %s, roles %v", reg.GetUser().GetEmail(), reg.GetUser().GetId(), reg.GetUser().GetRoles())
	if err != nil {
		return err
	}
	const login = "/bazaar.identity.v1.IdentityService/Login"
	var lr *identityv1.LoginResponse
	err = d.anonymous(ctx, login, func() (err error) {
		lr, err = d.id.Login(ctx, &identityv1.LoginRequest{Email: d.email, Password: demoPassword})
		return err
	})
	d.call(demoUnary, login, err, "access token (a JWT, %d bytes) valid until %s, and a refresh token",
		len(lr.GetTokens().GetAccessToken()), lr.GetTokens().GetAccessTokenExpireTime().AsTime().Local().Format(time.TimeOnly))
	if err != nil {
		return err
	}
	d.customer = lr.GetTokens().GetAccessToken()

	if d.adminPassword == "" {
		return errors.New("the admin steps need the bootstrap admin's password: --admin-password or BAZAAR_ADMIN_PASSWORD (or run with --self)")
	}
	if err := d.budget(ctx, demoLoginCost, "those two calls spent the burst of 20, the admin's Login needs 10"); err != nil {
		return err
	}
	err = d.anonymous(ctx, login, func() (err error) {
		lr, err = d.id.Login(ctx, &identityv1.LoginRequest{Email: "admin@bazaar.local", Password: d.adminPassword})
		return err
	})
	d.call(demoUnary, login, err, "the admin (admin@bazaar.local), roles %v", lr.GetUser().GetRoles())
	if err != nil {
		return err
	}
	d.admin = lr.GetTokens().GetAccessToken()
	return nil
}

func demoMoney(m *money.Money) string {
	if m == nil {
		return "-"
	}
	s := fmt.Sprintf("%s %d", m.GetCurrencyCode(), m.GetUnits())
	if n := m.GetNanos(); n != 0 {
		s += fmt.Sprintf(".%02d", demoAbs(n)/10_000_000)
	}
	return s
}

func demoAbs(n int32) int32 {
	if n < 0 {
		return -n
	}
	return n
}

// Step 2.
func (d *demoTour) stepBrowse(ctx context.Context) error {
	if d.customer == "" || d.admin == "" {
		return errors.New("needs the sign-ins of step 1")
	}
	customer := demoToken(ctx, d.customer)
	const list = "/bazaar.catalog.v1.CatalogService/ListProducts"
	page, err := d.catalog.ListProducts(customer, &catalogv1.ListProductsRequest{PageSize: 5})
	if err != nil {
		d.call(demoUnary, list, err, "")
		return err
	}
	if len(page.GetProducts()) == 0 {
		d.call(demoUnary, list, nil, "an empty catalog")
		d.note("the catalog is empty: the admin creates two products")
		for _, p := range []struct {
			sku, title, category string
			units                int64
			nanos                int32
		}{
			{"KNIFE-" + demoSuffix(), "Chef knife", "kitchen/knives", 89, 500_000_000},
			{"CUP-" + demoSuffix(), "Espresso cup", "kitchen/cups", 12, 0},
		} {
			if _, err := d.createProduct(ctx, p.sku, p.title, p.category, &money.Money{CurrencyCode: "EUR", Units: p.units, Nanos: p.nanos}, 25); err != nil {
				return err
			}
		}
		page, err = d.catalog.ListProducts(customer, &catalogv1.ListProductsRequest{PageSize: 5})
		if err != nil {
			d.call(demoUnary, list, err, "")
			return err
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "a page of %d products (page_size 5", len(page.GetProducts()))
	if page.GetNextPageToken() != "" {
		b.WriteString("; a signed next_page_token for more")
	}
	b.WriteString("):")
	for _, p := range page.GetProducts() {
		fmt.Fprintf(&b, "\n  %-22s %-18s %s", p.GetSku(), p.GetTitle(), demoMoney(p.GetPrice()))
	}
	d.call(demoUnary, list, nil, "%s", b.String())

	// The demo orders a product of its own, so that it knows its stock and
	// leaves the others alone.
	d.productSKU = "DEMO-MUG-" + demoSuffix()
	d.note("the admin adds the product the demo will order, with 10 in stock")
	p, err := d.createProduct(ctx, d.productSKU, "Bazaar demo mug", "demo", &money.Money{CurrencyCode: "EUR", Units: 14, Nanos: 900_000_000}, 10)
	if err != nil {
		return err
	}
	d.productID = p.GetId()

	const search = "/bazaar.catalog.v1.CatalogService/SearchProducts"
	res, err := d.catalog.SearchProducts(customer, &catalogv1.SearchProductsRequest{Query: "mug", PageSize: 5})
	if err != nil {
		d.call(demoUnary, search, err, "")
		return err
	}
	b.Reset()
	fmt.Fprintf(&b, `query "mug": %d product(s) (full-text search over title and description):`, len(res.GetProducts()))
	found := false
	for _, p := range res.GetProducts() {
		fmt.Fprintf(&b, "\n  %-22s %-18s %s", p.GetSku(), p.GetTitle(), demoMoney(p.GetPrice()))
		found = found || p.GetId() == d.productID
	}
	d.call(demoUnary, search, nil, "%s", b.String())
	// Other runs' mugs may rank first: look further, quietly.
	req := &catalogv1.SearchProductsRequest{Query: "mug", PageSize: 5, PageToken: res.GetNextPageToken()}
	for pages := 0; !found && req.PageToken != "" && pages < 40; pages++ {
		more, err := d.catalog.SearchProducts(customer, req)
		if err != nil {
			return err
		}
		for _, p := range more.GetProducts() {
			found = found || p.GetId() == d.productID
		}
		req.PageToken = more.GetNextPageToken()
	}
	if !found {
		return fmt.Errorf("SearchProducts(mug) did not find %s", d.productSKU)
	}
	return nil
}

// createProduct creates an active product as the admin and stocks it,
// printing both calls.
func (d *demoTour) createProduct(ctx context.Context, sku, title, category string, price *money.Money, stock int64) (*catalogv1.Product, error) {
	admin := demoToken(ctx, d.admin)
	created, err := d.catalog.CreateProduct(admin, &catalogv1.CreateProductRequest{RequestId: uuid.NewString(), Product: &catalogv1.Product{
		Sku: sku, Title: title, Category: category, Status: catalogv1.ProductStatus_PRODUCT_STATUS_ACTIVE, Price: price,
	}})
	d.call(demoUnary, "/bazaar.catalog.v1.CatalogService/CreateProduct", err, "%s %q at %s, id %s",
		sku, title, demoMoney(price), created.GetProduct().GetId())
	if err != nil {
		return nil, err
	}
	adj, err := d.catalog.AdjustStock(admin, &catalogv1.AdjustStockRequest{Sku: sku, Delta: stock, Reason: "delivery", RequestId: uuid.NewString()})
	d.call(demoUnary, "/bazaar.catalog.v1.CatalogService/AdjustStock", err, "%s: +%d, %d available", sku, stock, adj.GetStock().GetAvailable())
	if err != nil {
		return nil, err
	}
	return created.GetProduct(), nil
}

// demoImage is a small PNG: a 64×64 gradient.
func demoImage() ([]byte, error) {
	img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			img.Set(x, y, color.NRGBA{R: uint8(x * 4), G: uint8(y * 4), B: 160, A: 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Step 3.
func (d *demoTour) stepImage(ctx context.Context) error {
	if d.productID == "" {
		return errors.New("needs the product of step 2")
	}
	data, err := demoImage()
	if err != nil {
		return err
	}
	ref, err := images.Upload(demoToken(ctx, d.admin), d.catalog, d.productID, bytes.NewReader(data), int64(len(data)))
	d.call(demoClientStream, "/bazaar.catalog.v1.CatalogService/UploadProductImage", err,
		"image %s stored: %s, %d bytes, sha256 %.16s…\n(sent: metadata, then the bytes in chunks of up to %d KiB; one answer at the end)",
		ref.GetId(), ref.GetContentType(), ref.GetSizeBytes(), ref.GetSha256(), images.ChunkSize>>10)
	if err != nil {
		return err
	}
	var back bytes.Buffer
	ct, sum, err := images.Download(demoToken(ctx, d.customer), d.catalog, d.productID, ref.GetId(), &back)
	d.call(demoServerStream, "/bazaar.catalog.v1.CatalogService/DownloadProductImage", err,
		"%d bytes of %s, checked against the sha256 the response header announced (%.16s…)", back.Len(), ct, sum)
	if err != nil {
		return err
	}
	if !bytes.Equal(back.Bytes(), data) {
		return fmt.Errorf("the downloaded image (%d bytes) differs from the uploaded one (%d bytes)", back.Len(), len(data))
	}
	d.note("byte-identical to what was uploaded")
	return nil
}

// Step 4.
func (d *demoTour) stepSubscribe(ctx context.Context) error {
	if d.customer == "" {
		return errors.New("needs the customer of step 1")
	}
	// The subscription outlives the step: its own context, cancelled at
	// the end of the demo.
	sctx, cancel := context.WithCancel(demoToken(context.WithoutCancel(ctx), d.customer))
	const method = "/bazaar.notification.v1.NotificationService/SubscribeNotifications"
	sub, err := d.notes.SubscribeNotifications(sctx, &notificationv1.SubscribeNotificationsRequest{})
	if err == nil {
		// The header arrives once the server has registered the
		// subscriber: nothing published after it is missed.
		stop := context.AfterFunc(ctx, cancel) // the step's deadline bounds the wait
		_, err = sub.Header()
		stop()
	}
	if err != nil {
		cancel()
		d.call(demoServerStream, method, err, "")
		return err
	}
	d.notifications = make(chan *notificationv1.Notification, 64)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(d.notifications)
		for {
			msg, err := sub.Recv()
			if err != nil {
				d.subErr.Store(&err)
				return
			}
			if n := msg.GetNotification(); n != nil {
				select {
				case d.notifications <- n:
				default: // the demo reads only what it needs
				}
			}
		}
	})
	d.stopSub = sync.OnceFunc(func() { cancel(); wg.Wait() })
	d.call(demoServerStream, method, nil, "subscribed: the stream stays open in the background (heartbeats every 15s while idle)")
	return nil
}

// Step 5.
func (d *demoTour) stepOrder(ctx context.Context) error {
	if d.customer == "" || d.productID == "" {
		return errors.New("needs the customer of step 1 and the product of step 2")
	}
	customer := demoToken(ctx, d.customer)
	// The order service fetches an OAuth2 token of its own at its first
	// call of the catalog, from the same address's anonymous budget when
	// it runs here.
	if err := d.budget(ctx, demoLoginCost, "the order service, calling from this address too, fetches its own OAuth2 token (cost 5) at its first call of the catalog"); err != nil {
		return err
	}
	add, err := d.orders.AddCartItem(customer, &orderv1.AddCartItemRequest{ProductId: d.productID, Quantity: 2})
	d.call(demoUnary, "/bazaar.order.v1.OrderService/AddCartItem", err, "cart: %d line(s), 2 × %s", len(add.GetCart().GetLines()), d.productSKU)
	if err != nil {
		return err
	}

	// PlaceOrder answers when the saga is done: run it in the background
	// and watch the order meanwhile.
	type placed struct {
		resp *orderv1.PlaceOrderResponse
		err  error
	}
	placedCh := make(chan placed, 1)
	before := time.Now()
	go func() {
		resp, err := d.orders.PlaceOrder(customer, &orderv1.PlaceOrderRequest{
			IdempotencyKey: uuid.NewString(), CardNumber: demoPaidCard, Source: &orderv1.PlaceOrderRequest_UseCart{UseCart: true},
		})
		placedCh <- placed{resp, err}
	}()
	var orderID string
	var p *placed
	for orderID == "" && p == nil {
		select {
		case r := <-placedCh:
			p = &r
			orderID = r.resp.GetOrder().GetId()
		case <-time.After(20 * time.Millisecond):
			list, err := d.orders.ListOrders(customer, &orderv1.ListOrdersRequest{})
			if err != nil {
				return fmt.Errorf("ListOrders: %w", err)
			}
			for _, o := range list.GetOrders() {
				if o.GetCreateTime().AsTime().After(before.Add(-time.Second)) {
					orderID = o.GetId()
				}
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if orderID == "" {
		d.call(demoUnary, "/bazaar.order.v1.OrderService/PlaceOrder", p.err, "")
		return p.err
	}
	d.note("PlaceOrder (card %s) is running; meanwhile, WatchOrder on order %s:", demoPaidCard, orderID)
	watch, err := d.orders.WatchOrder(customer, &orderv1.WatchOrderRequest{Id: orderID})
	var lines []string
	var last *orderv1.OrderTransition
	if err == nil {
		for {
			msg, rerr := watch.Recv()
			if errors.Is(rerr, io.EOF) {
				break
			}
			if rerr != nil {
				err = rerr
				break
			}
			tr := msg.GetTransition()
			last = tr
			lines = append(lines, fmt.Sprintf("#%d  +%-6v %-10s %s", tr.GetSequence(),
				tr.GetTime().AsTime().Sub(tr.GetOrder().GetCreateTime().AsTime()).Round(time.Millisecond),
				demoStatus(tr.GetStatus()), tr.GetReason()))
		}
	}
	d.call(demoServerStream, "/bazaar.order.v1.OrderService/WatchOrder", err, "the saga's transitions, as they happen (time since the order was placed), until the stream ends:\n  %s",
		strings.Join(lines, "\n  "))
	if err != nil {
		return err
	}
	if p == nil {
		r := <-placedCh
		p = &r
	}
	// Count the order service's token fetch as if the demo had spent it
	// now.
	d.lastAnon = time.Now()
	o := p.resp.GetOrder()
	d.call(demoUnary, "/bazaar.order.v1.OrderService/PlaceOrder", p.err, "order %s %s: %s, payment %s",
		o.GetId(), demoStatus(o.GetStatus()), demoMoney(o.GetTotal()), o.GetPaymentId())
	if p.err != nil {
		return p.err
	}
	if last.GetStatus() != orderv1.OrderStatus_ORDER_STATUS_COMPLETED || o.GetStatus() != orderv1.OrderStatus_ORDER_STATUS_COMPLETED {
		return fmt.Errorf("order %s ended %v (watched: %v), want completed", o.GetId(), o.GetStatus(), last.GetStatus())
	}
	d.paidOrderID = o.GetId()
	return nil
}

func demoStatus(s orderv1.OrderStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "ORDER_STATUS_"))
}

func demoKind(k notificationv1.NotificationKind) string {
	return strings.ToLower(strings.TrimPrefix(k.String(), "NOTIFICATION_KIND_"))
}

// awaitNotifications reads the subscription until it has seen the kinds
// wanted for order orderID, in order, printing them.
func (d *demoTour) awaitNotifications(ctx context.Context, orderID string, want ...notificationv1.NotificationKind) error {
	if d.notifications == nil {
		return errors.New("needs the subscription of step 4")
	}
	const method = "/bazaar.notification.v1.NotificationService/SubscribeNotifications"
	timeout := time.After(10 * time.Second)
	for len(want) > 0 {
		select {
		case n, ok := <-d.notifications:
			if !ok {
				if err := d.subErr.Load(); err != nil {
					return fmt.Errorf("the subscription ended: %w", describe(*err))
				}
				return errors.New("the subscription ended")
			}
			if n.GetOrderId() != orderID {
				continue
			}
			d.call(demoServerStream, method, nil, "notification #%d %s: %q (pushed)", n.GetId(), demoKind(n.GetKind()), n.GetTitle())
			if n.GetKind() == want[0] {
				want = want[1:]
			}
		case <-timeout:
			return fmt.Errorf("no %v notification of order %s within 10s", want[0], orderID)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Step 6.
func (d *demoTour) stepNotifications(ctx context.Context) error {
	if d.paidOrderID == "" {
		return errors.New("needs the order of step 5")
	}
	d.note("the order service published its events; the notification service consumed them and pushed these down the open stream:")
	return d.awaitNotifications(ctx, d.paidOrderID,
		notificationv1.NotificationKind_NOTIFICATION_KIND_ORDER_PLACED, notificationv1.NotificationKind_NOTIFICATION_KIND_ORDER_PAID)
}

// Step 7.
func (d *demoTour) stepDeclined(ctx context.Context) error {
	if d.customer == "" || d.productID == "" {
		return errors.New("needs the customer of step 1 and the product of step 2")
	}
	customer := demoToken(ctx, d.customer)
	const getStock = "/bazaar.catalog.v1.CatalogService/GetStock"
	stock := func() (*catalogv1.Stock, error) {
		resp, err := d.catalog.GetStock(customer, &catalogv1.GetStockRequest{Skus: []string{d.productSKU}})
		st := resp.GetStocks()
		if err == nil && len(st) != 1 {
			err = fmt.Errorf("GetStock(%s) answered %d stocks", d.productSKU, len(st))
		}
		if err != nil {
			d.call(demoUnary, getStock, err, "")
			return nil, err
		}
		d.call(demoUnary, getStock, nil, "%s: %d available, %d reserved, %d sold", d.productSKU, st[0].GetAvailable(), st[0].GetReserved(), st[0].GetSold())
		return st[0], nil
	}
	before, err := stock()
	if err != nil {
		return err
	}
	resp, err := d.orders.PlaceOrder(customer, &orderv1.PlaceOrderRequest{
		IdempotencyKey: uuid.NewString(), CardNumber: demoDeclinedCard,
		Source: &orderv1.PlaceOrderRequest_Items{Items: &orderv1.LineItems{Items: []*orderv1.LineItem{{ProductId: d.productID, Quantity: 1}}}},
	})
	o := resp.GetOrder()
	d.call(demoUnary, "/bazaar.order.v1.OrderService/PlaceOrder", err, "card %s: order %s %s, reason %s: %s\n(the saga undid what it had done, in reverse: the reservation released)",
		demoDeclinedCard, o.GetId(), demoStatus(o.GetStatus()), o.GetCancelReasonCode(), o.GetCancelReason())
	if err != nil {
		return err
	}
	if o.GetStatus() != orderv1.OrderStatus_ORDER_STATUS_CANCELLED || o.GetCancelReasonCode() != "PAYMENT_DECLINED" {
		return fmt.Errorf("the declined order ended %v (%s), want cancelled for PAYMENT_DECLINED", o.GetStatus(), o.GetCancelReasonCode())
	}
	after, err := stock()
	if err != nil {
		return err
	}
	if after.GetAvailable() != before.GetAvailable() || after.GetReserved() != 0 {
		return fmt.Errorf("stock after the declined order: %d available, %d reserved; want %d available, none reserved",
			after.GetAvailable(), after.GetReserved(), before.GetAvailable())
	}
	d.note("the stock is back: %d available, as before the order", after.GetAvailable())
	return d.awaitNotifications(ctx, o.GetId(),
		notificationv1.NotificationKind_NOTIFICATION_KIND_ORDER_PLACED, notificationv1.NotificationKind_NOTIFICATION_KIND_ORDER_CANCELLED)
}

// demoChatStream is one side of a Chat stream, its messages read into a
// channel.
type demoChatStream struct {
	stream grpc.BidiStreamingClient[notificationv1.ClientMessage, notificationv1.ServerMessage]
	in     chan *notificationv1.ServerMessage
	err    error // why the stream ended; read after in is closed
}

func demoOpenChat(ctx context.Context, client notificationv1.SupportServiceClient, wg *sync.WaitGroup) (*demoChatStream, error) {
	stream, err := client.Chat(ctx)
	if err != nil {
		return nil, err
	}
	c := &demoChatStream{stream: stream, in: make(chan *notificationv1.ServerMessage, 32)}
	wg.Go(func() {
		defer close(c.in)
		for {
			m, err := stream.Recv()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					c.err = err
				}
				return
			}
			c.in <- m
		}
	})
	return c, nil
}

// await reads messages until match accepts one.
func (c *demoChatStream) await(ctx context.Context, match func(*notificationv1.ServerMessage) bool) (*notificationv1.ServerMessage, error) {
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-c.in:
			if !ok {
				if c.err != nil {
					return nil, c.err
				}
				return nil, errors.New("the chat stream ended")
			}
			if match(m) {
				return m, nil
			}
		case <-timeout:
			return nil, errors.New("no answer on the chat stream within 10s")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func demoChatLine(seq int64, sender *notificationv1.Participant, text string) string {
	return fmt.Sprintf("[%d] %s: %s", seq, roleName(sender.GetRole()), text)
}

func demoIsMessage(text string) func(*notificationv1.ServerMessage) bool {
	return func(m *notificationv1.ServerMessage) bool { return m.GetMessage().GetText() == text }
}

// Step 8.
func (d *demoTour) stepChat(ctx context.Context) error {
	if d.customer == "" || d.admin == "" || d.paidOrderID == "" {
		return errors.New("needs the sign-ins of step 1 and the order of step 5")
	}
	const method = "/bazaar.notification.v1.SupportService/Chat"
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	customer, err := demoOpenChat(demoToken(ctx, d.customer), d.support, &wg)
	if err == nil {
		err = customer.stream.Send(&notificationv1.ClientMessage{Kind: &notificationv1.ClientMessage_Open{Open: &notificationv1.OpenConversation{OrderId: d.paidOrderID}}})
	}
	var joined *notificationv1.ServerMessage
	if err == nil {
		joined, err = customer.await(ctx, func(m *notificationv1.ServerMessage) bool { return m.GetJoined() != nil })
	}
	cv := joined.GetJoined().GetConversation()
	d.call(demoBidiStream, method, err, "customer → open about order %s\ncustomer ← joined conversation %s (%s)", d.paidOrderID, cv.GetId(), stateName(cv.GetState()))
	if err != nil {
		return err
	}
	question := "Hi! When does order " + d.paidOrderID + " ship?"
	err = customer.stream.Send(&notificationv1.ClientMessage{Kind: &notificationv1.ClientMessage_Send{Send: &notificationv1.SendMessage{
		ClientMessageId: uuid.NewString(), Text: question}}})
	var echo *notificationv1.ServerMessage
	if err == nil {
		echo, err = customer.await(ctx, demoIsMessage(question))
	}
	d.call(demoBidiStream, method, err, "customer → %q\ncustomer ← %s (stored and numbered: the echo confirms it)",
		question, demoChatLine(echo.GetMessage().GetSequence(), echo.GetMessage().GetSender(), question))
	if err != nil {
		return err
	}

	agent, err := demoOpenChat(demoToken(ctx, d.admin), d.support, &wg)
	if err == nil {
		err = agent.stream.Send(&notificationv1.ClientMessage{Kind: &notificationv1.ClientMessage_Join{Join: &notificationv1.JoinConversation{ConversationId: cv.GetId()}}})
	}
	var history *notificationv1.ServerMessage
	if err == nil {
		history, err = agent.await(ctx, demoIsMessage(question))
	}
	d.call(demoBidiStream, method, err, "agent (the admin) → join %s\nagent ← history: %s", cv.GetId(),
		demoChatLine(history.GetMessage().GetSequence(), history.GetMessage().GetSender(), question))
	if err != nil {
		return err
	}
	answer := "It ships today. Thanks for shopping at Bazaar!"
	err = agent.stream.Send(&notificationv1.ClientMessage{Kind: &notificationv1.ClientMessage_Send{Send: &notificationv1.SendMessage{
		ClientMessageId: uuid.NewString(), Text: answer}}})
	var got *notificationv1.ServerMessage
	if err == nil {
		got, err = customer.await(ctx, demoIsMessage(answer))
	}
	d.call(demoBidiStream, method, err, "agent → %q\ncustomer ← %s (both directions on one stream each)", answer,
		demoChatLine(got.GetMessage().GetSequence(), got.GetMessage().GetSender(), answer))
	if err != nil {
		return err
	}
	_ = customer.stream.CloseSend()
	_ = agent.stream.CloseSend()
	return nil
}

// Step 9.
func (d *demoTour) stepPermission(ctx context.Context) error {
	if d.customer == "" {
		return errors.New("needs the customer of step 1")
	}
	d.note("a customer's token on an admin method (CreateProduct declares the admin role in its proto policy):")
	_, err := d.catalog.CreateProduct(demoToken(ctx, d.customer), &catalogv1.CreateProductRequest{RequestId: uuid.NewString(), Product: &catalogv1.Product{
		Sku: "NOPE-" + demoSuffix(), Title: "Not allowed", Category: "demo", Price: &money.Money{CurrencyCode: "EUR", Units: 1},
	}})
	d.call(demoUnary, "/bazaar.catalog.v1.CatalogService/CreateProduct", err, "created?!")
	if code := errs.FromError(err).Code; code != codes.PermissionDenied {
		return fmt.Errorf("CreateProduct as a customer answered %v, want PermissionDenied", code)
	}
	return nil
}

// Step 10.
func (d *demoTour) stepRateLimit(ctx context.Context) error {
	if d.email == "" {
		return errors.New("needs the customer of step 1")
	}
	if err := d.budget(ctx, demoAnonBurst, "the burst below starts from a full bucket of 20: two Logins"); err != nil {
		return err
	}
	d.note("a burst of anonymous Logins (a wrong password) from this address, 10 of the budget each, until it is spent:")
	const login = "/bazaar.identity.v1.IdentityService/Login"
	for i := 1; i <= 12; i++ {
		_, err := d.id.Login(ctx, &identityv1.LoginRequest{Email: d.email, Password: "not the password"})
		d.lastAnon = time.Now()
		dt := errs.FromError(err)
		switch dt.Code {
		case codes.ResourceExhausted:
			d.call(demoUnary, login, err, "")
			d.note("call %d: the per-address budget is spent; RetryInfo and QuotaFailure say why and when to come back", i)
			d.note("(the grpc-retry-pushback-ms trailer tells gRPC retry policies the same)")
			if dt.RetryDelay <= 0 {
				return errors.New("RESOURCE_EXHAUSTED without RetryInfo")
			}
			return nil
		case codes.Unauthenticated:
			d.line(demoUnary, dt.Code, login, fmt.Sprintf("call %d: the wrong password, and the call took %d of the budget", i, demoLoginCost))
		default:
			d.call(demoUnary, login, err, "")
			return fmt.Errorf("a Login with a wrong password answered %v, want Unauthenticated, then ResourceExhausted", dt.Code)
		}
	}
	return errors.New("12 Logins in a row were not limited: is bazaar up running with generous --anonymous-rate-limit?")
}
