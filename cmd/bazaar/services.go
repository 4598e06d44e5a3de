package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
	eventsv1 "github.com/bazaarhq/bazaar/gen/bazaar/events/v1"
	calculatorv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/calculator/v1"
	helloworldv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	identityv1 "github.com/bazaarhq/bazaar/gen/bazaar/identity/v1"
	paymentv1 "github.com/bazaarhq/bazaar/gen/bazaar/payment/v1"

	"github.com/bazaarhq/bazaar/examples/calculator"
	"github.com/bazaarhq/bazaar/examples/helloworld"
	"github.com/bazaarhq/bazaar/internal/catalog"
	cataloggrpc "github.com/bazaarhq/bazaar/internal/catalog/grpcserver"
	"github.com/bazaarhq/bazaar/internal/catalog/images"
	catalogstore "github.com/bazaarhq/bazaar/internal/catalog/store"
	"github.com/bazaarhq/bazaar/internal/identity"
	identitygrpc "github.com/bazaarhq/bazaar/internal/identity/grpcserver"
	identitystore "github.com/bazaarhq/bazaar/internal/identity/store"
	"github.com/bazaarhq/bazaar/internal/notification"
	"github.com/bazaarhq/bazaar/internal/notification/chat"
	chatgrpc "github.com/bazaarhq/bazaar/internal/notification/chat/grpcserver"
	chatstore "github.com/bazaarhq/bazaar/internal/notification/chat/store"
	notificationgrpc "github.com/bazaarhq/bazaar/internal/notification/grpcserver"
	notificationstore "github.com/bazaarhq/bazaar/internal/notification/store"
	"github.com/bazaarhq/bazaar/internal/order"
	ordergrpc "github.com/bazaarhq/bazaar/internal/order/grpcserver"
	"github.com/bazaarhq/bazaar/internal/order/remote"
	orderstore "github.com/bazaarhq/bazaar/internal/order/store"
	"github.com/bazaarhq/bazaar/internal/payment"
	paymentgrpc "github.com/bazaarhq/bazaar/internal/payment/grpcserver"
	"github.com/bazaarhq/bazaar/internal/payment/processor"
	paymentstore "github.com/bazaarhq/bazaar/internal/payment/store"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/events"
	"github.com/bazaarhq/bazaar/internal/platform/events/eventsgrpc"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// service is one gRPC server of the process: its name (for flags, logs,
// certificates and the listener table) and how to put its API on a server.
// Each issue that builds a service adds it here; its position fixes its
// port (base-port+i), so new services go at the end.
type service struct {
	name  string
	start func(ctx context.Context, srv *grpcx.Server, env serviceEnv) (component, error)
}

// serviceEnv is what the process hands every service.
type serviceEnv struct {
	cfg upConfig
	log *slog.Logger
	out io.Writer // the terminal: for what must be shown once
	// identity is this service's own connection to the identity service.
	identity identityv1.IdentityServiceClient
	// dial connects this service to another one of the process by name,
	// with the process's client stack (transport security, metrics,
	// tracing, retries, circuit breaker); the process closes it.
	dial func(target string, opts ...grpc.DialOption) (*grpc.ClientConn, error)
	// process ends when the process stops.
	process context.Context
	// shared holds what a service leaves for the ones started after it.
	shared *sharedEnv
}

// sharedEnv is filled by services as they start, in the order of services.
type sharedEnv struct {
	// identity is the identity service itself, for bootstrapping the
	// clients of other services (see serviceCredentials).
	identity *identity.Service
}

// component is what a started service leaves the process to manage. Every
// field is optional.
type component struct {
	run   func(ctx context.Context) error // background work until ctx ends
	ready func(ctx context.Context) error // readiness beyond serving (a database ping)
	close func() error                    // after the server stopped
}

var services = []service{
	{name: "helloworld", start: func(_ context.Context, srv *grpcx.Server, _ serviceEnv) (component, error) {
		helloworldv1.RegisterGreeterServiceServer(srv, helloworld.NewGreeter())
		return component{}, nil
	}},
	{name: "calculator", start: func(_ context.Context, srv *grpcx.Server, _ serviceEnv) (component, error) {
		calculatorv1.RegisterCalculatorServiceServer(srv, calculator.NewCalculator())
		return component{}, nil
	}},
	{name: "identity", start: startIdentity},
	{name: "catalog", start: startCatalog},
	{name: "payment", start: startPayment},
	{name: "order", start: startOrder},
	{name: "notification", start: startNotification},
}

// databaseURL is the service's database: the configured URL, or a SQLite
// file of its own in the data dir.
func databaseURL(cfg upConfig, service string) (string, error) {
	if u := cfg.DatabaseURLs[service]; u != "" {
		return u, nil
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return "", err
	}
	return "sqlite://" + filepath.Join(dir, service+".db"), nil
}

func startIdentity(ctx context.Context, srv *grpcx.Server, env serviceEnv) (component, error) {
	url, err := databaseURL(env.cfg, "identity")
	if err != nil {
		return component{}, err
	}
	st, err := identitystore.Open(ctx, url, sqldb.WithSchema("identity"))
	if err != nil {
		return component{}, err
	}
	svc, err := identity.New(st, identity.Config{Logger: env.log})
	if err == nil {
		err = svc.RotateKeys(ctx)
	}
	if err != nil {
		return component{}, errors.Join(err, st.Close())
	}
	created, password, err := svc.EnsureAdmin(ctx, env.cfg.AdminEmail, env.cfg.AdminPassword)
	switch {
	case errs.KindOfError(err) == errs.FailedPrecondition:
		// The bootstrap email belongs to an account that is no longer an
		// admin: someone decided so; serve anyway.
		env.log.Warn("bootstrap admin not ensured", "email", env.cfg.AdminEmail, "reason", err.Error())
	case err != nil:
		return component{}, errors.Join(err, st.Close())
	case created && password != "":
		fmt.Fprintf(env.out, "bootstrap admin: %s / %s  (shown once: keep it, or set --admin-password)\n", env.cfg.AdminEmail, password)
	case created:
		fmt.Fprintf(env.out, "bootstrap admin: %s (password from --admin-password)\n", env.cfg.AdminEmail)
	}
	identitygrpc.Register(srv, svc)
	env.shared.identity = svc
	return component{
		run:   func(ctx context.Context) error { return svc.RunMaintenance(ctx, identity.DefaultMaintenanceInterval) },
		ready: st.DB().Ping,
		close: st.Close,
	}, nil
}

func startCatalog(ctx context.Context, srv *grpcx.Server, env serviceEnv) (component, error) {
	url, err := databaseURL(env.cfg, "catalog")
	if err != nil {
		return component{}, err
	}
	st, err := catalogstore.Open(ctx, url, sqldb.WithSchema("catalog"))
	if err != nil {
		return component{}, err
	}
	// The change feed tails the catalog's outbox; every write wakes it, so
	// WatchCatalog delivers at once (it polls too, for other writers).
	feed, err := events.NewFeed(st.DB(), events.WithLogger(env.log))
	if err != nil {
		return component{}, errors.Join(err, st.Close())
	}
	svc, err := catalog.New(catalog.NotifyOnWrite(st, feed.Notify), catalog.Config{Logger: env.log})
	if err != nil {
		return component{}, errors.Join(err, st.Close())
	}
	blobs, err := images.NewBlobStore(filepath.Join(env.cfg.DataDir, "catalog-images"))
	if err != nil {
		return component{}, errors.Join(err, st.Close())
	}
	img := images.NewService(cataloggrpc.ImageProducts(svc), blobs)
	cataloggrpc.Register(srv, svc, cataloggrpc.WithImages(img), cataloggrpc.WithFeed(feed))
	pruneEvents, err := serveEvents(ctx, srv, env, st.DB(), feed)
	if err != nil {
		return component{}, errors.Join(err, st.Close())
	}
	return component{
		run: func(ctx context.Context) error {
			g, ctx := errgroup.WithContext(ctx)
			g.Go(func() error { return feed.Run(ctx) })
			g.Go(func() error { return pruneEvents(ctx) })
			g.Go(func() error { return svc.RunSweeper(ctx, catalog.DefaultSweepInterval) })
			// Blobs left by a crash mid-upload, or recorded by no product.
			g.Go(func() error { return img.RunSweeper(ctx, time.Hour, images.DefaultSweepGrace, env.log) })
			return g.Wait()
		},
		ready: st.DB().Ping,
		close: st.Close,
	}, nil
}

func startPayment(ctx context.Context, srv *grpcx.Server, env serviceEnv) (component, error) {
	url, err := databaseURL(env.cfg, "payment")
	if err != nil {
		return component{}, err
	}
	st, err := paymentstore.Open(ctx, url, sqldb.WithSchema("payment"))
	if err != nil {
		return component{}, err
	}
	// The simulated card processor keeps its records in tables of its own
	// in the payment database, written in its own transactions, as a
	// remote processor would.
	proc, err := processor.New(st.DB(), processor.Config{Latency: env.cfg.CardLatency})
	if err != nil {
		return component{}, errors.Join(err, st.Close())
	}
	svc, err := payment.New(st, proc, payment.Config{Logger: env.log})
	if err != nil {
		return component{}, errors.Join(err, st.Close())
	}
	paymentgrpc.Register(srv, svc)
	// Payment's events reach subscribers at the feed's next poll (1 s).
	feed, err := events.NewFeed(st.DB(), events.WithLogger(env.log))
	if err != nil {
		return component{}, errors.Join(err, st.Close())
	}
	pruneEvents, err := serveEvents(ctx, srv, env, st.DB(), feed)
	if err != nil {
		return component{}, errors.Join(err, st.Close())
	}
	return component{
		// Reconciles payments whose processor outcome is unknown and
		// prunes idempotency keys past their retention.
		run: func(ctx context.Context) error {
			g, ctx := errgroup.WithContext(ctx)
			g.Go(func() error { return feed.Run(ctx) })
			g.Go(func() error { return pruneEvents(ctx) })
			g.Go(func() error { return svc.RunMaintenance(ctx, payment.DefaultMaintenanceInterval) })
			return g.Wait()
		},
		ready: st.DB().Ping,
		close: st.Close,
	}, nil
}

// orderScopes are what the order service's OAuth2 client holds when it is
// not known by its certificate: reserving stock and moving money.
var orderScopes = []string{"inventory:reserve", "payments:write"}

func startOrder(ctx context.Context, srv *grpcx.Server, env serviceEnv) (component, error) {
	url, err := databaseURL(env.cfg, "order")
	if err != nil {
		return component{}, err
	}
	// The order service calls the catalog and payment services as itself:
	// by its certificate with TLS, else with client credentials.
	callOpts, err := serviceCallOptions(ctx, env, "order", orderScopes)
	if err != nil {
		return component{}, err
	}
	catConn, err := env.dial("catalog", callOpts...)
	if err != nil {
		return component{}, err
	}
	payConn, err := env.dial("payment", callOpts...)
	if err != nil {
		return component{}, err
	}
	st, err := orderstore.Open(ctx, url, sqldb.WithSchema("order"))
	if err != nil {
		return component{}, err
	}
	// Every commit that appended events wakes the feed: OrderPlaced and
	// OrderCompleted reach the notification service at once.
	feed, err := events.NewFeed(st.DB(), events.WithLogger(env.log))
	if err != nil {
		return component{}, errors.Join(err, st.Close())
	}
	svc, err := order.New(st,
		remote.NewCatalog(catalogv1.NewCatalogServiceClient(catConn)),
		remote.NewPayments(paymentv1.NewPaymentServiceClient(payConn)),
		order.Config{Logger: env.log, OnEvents: feed.Notify, Failpoint: failpoints(env.process, env.cfg.Failpoints, env.out)},
	)
	if err != nil {
		return component{}, errors.Join(err, st.Close())
	}
	ordergrpc.Register(srv, svc)
	pruneEvents, err := serveEvents(ctx, srv, env, st.DB(), feed)
	if err != nil {
		return component{}, errors.Join(err, st.Close())
	}
	return component{
		// Resumes every saga in flight, after a crash too.
		run: func(ctx context.Context) error {
			g, ctx := errgroup.WithContext(ctx)
			g.Go(func() error { return feed.Run(ctx) })
			g.Go(func() error { return pruneEvents(ctx) })
			g.Go(func() error { return svc.Run(ctx) })
			return g.Wait()
		},
		ready: st.DB().Ping,
		close: func() error { svc.Close(); return st.Close() },
	}, nil
}

// startNotification serves the notification service and support chat,
// each with its own database: the notification database, and chat's own
// SQLite file (or, on Postgres, its own schema: two services' migrations
// cannot share one version table).
func startNotification(ctx context.Context, srv *grpcx.Server, env serviceEnv) (component, error) {
	url, err := databaseURL(env.cfg, "notification")
	if err != nil {
		return component{}, err
	}
	chatURL := url
	if strings.HasPrefix(url, "sqlite:") {
		dir, err := filepath.Abs(env.cfg.DataDir)
		if err != nil {
			return component{}, err
		}
		chatURL = "sqlite://" + filepath.Join(dir, "chat.db")
	}
	st, err := notificationstore.Open(ctx, url, sqldb.WithSchema("notification"))
	if err != nil {
		return component{}, err
	}
	chatSt, err := chatstore.Open(ctx, chatURL, sqldb.WithSchema("chat"))
	if err != nil {
		return component{}, errors.Join(err, st.Close())
	}
	closeAll := func() error { return errors.Join(chatSt.Close(), st.Close()) }
	svc, err := notification.New(st, notification.Config{MailDir: filepath.Join(env.cfg.DataDir, "mail"), Logger: env.log})
	if err != nil {
		return component{}, errors.Join(err, closeAll())
	}
	chatSvc, err := chat.New(chatSt, chat.Config{Logger: env.log})
	if err != nil {
		return component{}, errors.Join(err, closeAll())
	}
	notificationgrpc.Register(srv, svc)
	chatgrpc.Register(srv, chatSvc)

	// One consumer per producing service, each with its cursor and inbox
	// in the notification database, committed with the notifications.
	callOpts, err := serviceCallOptions(ctx, env, "notification", []string{"events:read"})
	if err != nil {
		return component{}, errors.Join(err, closeAll())
	}
	var consumers []*events.Consumer
	for _, source := range []string{"order", "payment", "catalog"} {
		cc, err := env.dial(source, callOpts...)
		if err != nil {
			return component{}, errors.Join(err, closeAll())
		}
		c, err := events.NewConsumer(events.ConsumerConfig{
			Name: "notification", SourceName: source, DB: st.DB(),
			Source: eventsgrpc.NewSource(eventsv1.NewEventServiceClient(cc), "notification"),
			Topics: notification.Topics,
			Handle: func(ctx context.Context, tx *sqldb.Tx, e events.Event) error {
				payload, err := e.PayloadJSON()
				if err != nil {
					return err
				}
				return svc.HandleEvent(ctx, tx, notification.Event{
					Source: source, ID: e.ID, Topic: e.Topic, AggregateID: e.AggregateID, Time: e.Time, Payload: payload,
				})
			},
			// Announced to live subscribers only once committed.
			AfterCommit: func(e events.Event) { svc.Committed(e.ID) },
			Logger:      env.log,
		})
		if err != nil {
			return component{}, errors.Join(err, closeAll())
		}
		consumers = append(consumers, c)
	}
	return component{
		run: func(ctx context.Context) error {
			g, ctx := errgroup.WithContext(ctx)
			for _, c := range consumers {
				g.Go(func() error {
					err := c.Run(ctx)
					if errors.Is(err, events.ErrCursorPruned) {
						// The producer pruned events this consumer never
						// read: an operator decides (docs/architecture.md);
						// the rest of the process keeps serving.
						env.log.Error("notification consumer stopped: its cursor was pruned", "error", err)
						return nil
					}
					return err
				})
			}
			return g.Wait()
		},
		ready: func(ctx context.Context) error { return errors.Join(st.DB().Ping(ctx), chatSt.DB().Ping(ctx)) },
		close: closeAll,
	}, nil
}

// eventConsumers are the services that consume the others' events: the
// producers keep their events until these have acknowledged them.
var eventConsumers = []string{"notification"}

// eventRetention is how long events are kept after every consumer has
// acknowledged them.
const eventRetention = 7 * 24 * time.Hour

// serveEvents makes a service's outbox an event source: EventService
// (Subscribe, Ack) on its server, the consumers registered, and the pruner
// it returns to run.
func serveEvents(ctx context.Context, srv *grpcx.Server, env serviceEnv, db *sqldb.DB, feed *events.Feed) (func(context.Context) error, error) {
	if err := events.RegisterConsumers(ctx, db, eventConsumers...); err != nil {
		return nil, err
	}
	svc, err := eventsgrpc.NewService(feed, db)
	if err != nil {
		return nil, err
	}
	eventsgrpc.Register(srv, svc)
	return func(ctx context.Context) error {
		return events.RunPruner(ctx, db, eventRetention, time.Hour, env.log)
	}, nil
}
