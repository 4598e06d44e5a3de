// Package scenarios holds `bazaar bench`'s scenarios: echo (a bare grpc-go
// Greeter in this process, the baseline), browse, get-product,
// list-products, checkout, upload, notify and chat, each calling a running
// Bazaar through connections its Env dials (the project's client stack).
package scenarios

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
	identityv1 "github.com/bazaarhq/bazaar/gen/bazaar/identity/v1"
	"github.com/bazaarhq/bazaar/internal/bench"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// Env is what scenarios need from the command: connections to the
// services and credentials.
type Env struct {
	// Dial returns a connection to service ("identity", "catalog", "order",
	// "notification"), on the project's client stack.
	Dial func(service string) (*grpc.ClientConn, error)
	// DialEcho dials the in-process echo server at addr the same way.
	DialEcho func(addr string) (*grpc.ClientConn, error)
	// AdminPassword signs in admin@bazaar.local; AdminToken, when set, is
	// used instead.
	AdminPassword string
	AdminToken    string
	// Workers is the run's concurrency: scenarios with per-worker state
	// (buyers, chat pairs, subscribers) make this many.
	Workers int
	// Subscribers is notify's number of subscribed customers (at least
	// Workers).
	Subscribers int
	// ImageSize is about how many bytes upload and upload-sink send per
	// image (a PNG of random pixels: a square of ImageSize/4 pixels).
	// Default DefaultImageSize.
	ImageSize int
	// Conns is how many connections the unary calls of a scenario spread
	// over, per service: worker w calls on connection w mod Conns (echo and
	// upload-sink dial their server Conns times too). Long-lived streams
	// (notify's subscriptions, chat) keep one connection per
	// streamsPerConn streams whatever it says. Default 1.
	Conns int
	// CallOptions are added to every call to the services (not to echo's
	// or upload-sink's in-process servers, which stay the bare baseline):
	// grpc.UseCompressor("gzip"), for instance.
	CallOptions []grpc.CallOption
	// Log receives setup progress; may be nil.
	Log io.Writer
}

// All lists every scenario, in the order `--scenario all` runs them.
var All = []string{"echo", "browse", "checkout", "upload", "notify", "chat"}

// Extra lists scenarios that isolate one call of browse's mix.
// upload-sink is upload's own baseline (see uploadSink).
var Extra = []string{"get-product", "list-products", "search-products", "upload-sink"}

// Known reports whether name is a scenario.
func Known(name string) bool { return slices.Contains(All, name) || slices.Contains(Extra, name) }

// Scenario is a bench.Scenario with resources to release.
type Scenario interface {
	bench.Scenario
	Close() error
}

// Noter is a scenario whose latency measures something other than its
// requests' own time.
type Noter interface{ Note() string }

// New sets up scenario name against env (untimed: sign-ups, stocking,
// discovery).
func New(ctx context.Context, name string, env Env) (Scenario, error) {
	if env.Workers <= 0 {
		env.Workers = 16
	}
	env.Subscribers = max(env.Subscribers, env.Workers)
	env.Conns = max(env.Conns, 1)
	if env.ImageSize <= 0 {
		env.ImageSize = DefaultImageSize
	}
	switch name {
	case "echo":
		return newEcho(env)
	case "browse":
		return newBrowse(ctx, env, name, browseMix)
	case "get-product":
		return newBrowse(ctx, env, name, [3]int{1, 0, 0})
	case "list-products":
		return newBrowse(ctx, env, name, [3]int{0, 1, 0})
	case "search-products":
		return newBrowse(ctx, env, name, [3]int{0, 0, 1})
	case "checkout":
		return newCheckout(ctx, env)
	case "upload":
		return newUpload(ctx, env)
	case "upload-sink":
		return newUploadSink(env)
	case "notify":
		return newNotify(ctx, env)
	case "chat":
		return newChat(ctx, env)
	}
	return nil, fmt.Errorf("unknown scenario %q (known: %s, %s)", name, strings.Join(All, ", "), strings.Join(Extra, ", "))
}

// conns dials services once (or once per key "service#n" or "service@n")
// and closes them all.
type conns struct {
	mu  sync.Mutex
	env Env
	cc  map[string]*grpc.ClientConn
}

// get returns the connection to service (or to the service of a key
// "service#n", "service@n"), dialled on first use, with env.CallOptions
// added to each of its calls.
func (c *conns) get(service string) (grpc.ClientConnInterface, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cc, ok := c.cc[service]
	if !ok {
		base := service
		if i := strings.IndexAny(service, "#@"); i >= 0 {
			base = service[:i]
		}
		var err error
		if cc, err = c.env.Dial(base); err != nil {
			return nil, fmt.Errorf("dial %s: %w", service, err)
		}
		if c.cc == nil {
			c.cc = map[string]*grpc.ClientConn{}
		}
		c.cc[service] = cc
	}
	if len(c.env.CallOptions) == 0 {
		return cc, nil
	}
	return withCallOptions{cc, c.env.CallOptions}, nil
}

// pool returns env.Conns connections to service for unary calls, the
// first being get(service)'s: worker w uses pool[w%len(pool)].
func (c *conns) pool(service string) ([]grpc.ClientConnInterface, error) {
	out := make([]grpc.ClientConnInterface, 0, max(c.env.Conns, 1))
	for i := range max(c.env.Conns, 1) {
		key := service
		if i > 0 {
			key = fmt.Sprintf("%s@%d", service, i)
		}
		cc, err := c.get(key)
		if err != nil {
			return nil, err
		}
		out = append(out, cc)
	}
	return out, nil
}

// clientsOf makes one generated client per connection.
func clientsOf[T any](ccs []grpc.ClientConnInterface, newClient func(grpc.ClientConnInterface) T) []T {
	out := make([]T, len(ccs))
	for i, cc := range ccs {
		out[i] = newClient(cc)
	}
	return out
}

// withCallOptions adds call options to every call made on a connection.
type withCallOptions struct {
	grpc.ClientConnInterface
	opts []grpc.CallOption
}

func (w withCallOptions) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return w.ClientConnInterface.Invoke(ctx, method, args, reply, append(slices.Clip(w.opts), opts...)...)
}

func (w withCallOptions) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return w.ClientConnInterface.NewStream(ctx, desc, method, append(slices.Clip(w.opts), opts...)...)
}

// streamsPerConn keeps a connection's long-lived streams under the
// server's HTTP/2 MAX_CONCURRENT_STREAMS (256 in grpcx): past it, new
// streams would wait for old ones to end.
const streamsPerConn = 200

// forStream returns the connection to service for the i-th long-lived
// stream: a new connection every streamsPerConn streams.
func (c *conns) forStream(service string, i int) (grpc.ClientConnInterface, error) {
	return c.get(fmt.Sprintf("%s#%d", service, i/streamsPerConn))
}

func (c *conns) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var err error
	for _, cc := range c.cc {
		err = errors.Join(err, cc.Close())
	}
	c.cc = nil
	return err
}

func bearer(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// patiently retries call while the server answers ResourceExhausted
// (setup must not fail on a default `bazaar up`'s rate limits), waiting as
// RetryInfo asks, for up to 30 s.
func patiently(ctx context.Context, call func() error) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := call()
		if err == nil || bench.CodeOf(err) != codes.ResourceExhausted || time.Now().After(deadline) {
			return err
		}
		wait := 200 * time.Millisecond
		if d := errs.FromError(err); d.RetryDelay > 0 {
			wait = d.RetryDelay
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

func (e Env) logf(format string, args ...any) {
	if e.Log != nil {
		fmt.Fprintf(e.Log, format+"\n", args...)
	}
}

// shopper is the part of setup that signs people in and stocks products.
type shopper struct {
	conns
	id      identityv1.IdentityServiceClient
	catalog catalogv1.CatalogServiceClient
	run     string // a random tag, so reruns on one data dir do not collide
}

func newShopper(env Env) (*shopper, error) {
	s := &shopper{conns: conns{env: env}, run: strings.ReplaceAll(uuid.NewString(), "-", "")[:10]}
	idc, err := s.get("identity")
	if err != nil {
		return nil, err
	}
	cat, err := s.get("catalog")
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	s.id, s.catalog = identityv1.NewIdentityServiceClient(idc), catalogv1.NewCatalogServiceClient(cat)
	return s, nil
}

// adminToken returns the admin's access token.
func (s *shopper) adminToken(ctx context.Context) (string, error) {
	if s.env.AdminToken != "" {
		return s.env.AdminToken, nil
	}
	if s.env.AdminPassword == "" {
		return "", errors.New("this scenario needs the admin: give --admin-password (or BAZAAR_ADMIN_PASSWORD), or --token with an admin's token")
	}
	var resp *identityv1.LoginResponse
	err := patiently(ctx, func() (err error) {
		resp, err = s.id.Login(ctx, &identityv1.LoginRequest{Email: "admin@bazaar.local", Password: s.env.AdminPassword})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("admin Login: %w", err)
	}
	return resp.GetTokens().GetAccessToken(), nil
}

const customerPassword = "bench password 4 customers"

// signUp registers a fresh customer and returns its access token.
func (s *shopper) signUp(ctx context.Context, who string) (string, error) {
	email := fmt.Sprintf("bench-%s-%s@example.com", s.run, who)
	err := patiently(ctx, func() error {
		_, err := s.id.Register(ctx, &identityv1.RegisterRequest{Email: email, Password: customerPassword})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("Register(%s): %w", email, err)
	}
	var resp *identityv1.LoginResponse
	err = patiently(ctx, func() (err error) {
		resp, err = s.id.Login(ctx, &identityv1.LoginRequest{Email: email, Password: customerPassword})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("Login(%s): %w", email, err)
	}
	return resp.GetTokens().GetAccessToken(), nil
}

// signUpMany signs up n customers, a few at a time.
func (s *shopper) signUpMany(ctx context.Context, n int, prefix string) ([]string, error) {
	tokens := make([]string, n)
	errc := make(chan error, n)
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			t, err := s.signUp(ctx, fmt.Sprintf("%s%d", prefix, i))
			tokens[i] = t
			errc <- err
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			return nil, err
		}
	}
	return tokens, nil
}

// stockedProduct creates an active product of EUR units with stock units
// in stock and returns its id.
func (s *shopper) stockedProduct(admin context.Context, name string, units, stock int64) (string, error) {
	return s.product(admin, name, catalogv1.ProductStatus_PRODUCT_STATUS_ACTIVE, units, stock)
}

// product creates a product of status st, price EUR units and stock units
// in stock, and returns its id.
func (s *shopper) product(admin context.Context, name string, st catalogv1.ProductStatus, units, stock int64) (string, error) {
	sku := strings.ToUpper(fmt.Sprintf("B-%s-%s", s.run, name))
	var created *catalogv1.CreateProductResponse
	err := patiently(admin, func() (err error) {
		created, err = s.catalog.CreateProduct(admin, &catalogv1.CreateProductRequest{RequestId: uuid.NewString(), Product: &catalogv1.Product{
			Sku: sku, Title: "Bench product " + name, Category: "bench", Status: st,
			Price: &money.Money{CurrencyCode: "EUR", Units: units},
		}})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("CreateProduct(%s): %w", sku, err)
	}
	if stock > 0 {
		err = patiently(admin, func() error {
			_, err := s.catalog.AdjustStock(admin, &catalogv1.AdjustStockRequest{Sku: sku, Delta: stock, Reason: "bench delivery", RequestId: uuid.NewString()})
			return err
		})
		if err != nil {
			return "", fmt.Errorf("AdjustStock(%s): %w", sku, err)
		}
	}
	return created.GetProduct().GetId(), nil
}
