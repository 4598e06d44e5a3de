package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"

	"github.com/bazaarhq/bazaar/internal/bench"
	"github.com/bazaarhq/bazaar/internal/bench/scenarios"
	"github.com/bazaarhq/bazaar/internal/catalog/images"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

const benchUsage = `usage: bazaar bench [flags]

Load-tests a running Bazaar (` + "`bazaar up`" + `) with the project's own client stack.
Scenarios: echo (a bare grpc-go Greeter started in this process: the
baseline), browse (GetProduct/ListProducts/SearchProducts, 6:3:1, over the
existing catalog: run ` + "`bazaar seed`" + ` first), get-product, list-products,
search-products (browse's calls alone), upload-sink (upload's baseline:
the same upload to a discarding grpc-go server in this process), checkout (the whole saga; needs the
admin), upload (images, as the admin), notify (order to notification
delivery), chat (support chat round trips; the admin is the agent).

--rate 0 runs a closed loop of --concurrency workers; --rate N an open loop
of N requests per second (at most --concurrency in flight), each request's
latency measured from when it was due. ` + "`bazaar up`" + `'s default rate limits
(an anonymous caller 10/s) refuse most of a load test: start it with
--rate-limit 1000000/1000000 --anonymous-rate-limit 1000000/1000000.

--conns N spreads each scenario's unary calls (and upload's short
client streams) round-robin over N connections per service, echo's and
upload-sink's too; notify's and chat's long-lived streams keep one
connection per 200 streams. --compression gzip compresses every call to
the services (the echo and upload-sink baselines stay uncompressed).

`

// serviceOffsets are the services' ports relative to `bazaar up`'s base
// port.
var serviceOffsets = map[string]int{"helloworld": 0, "identity": 2, "catalog": 3, "order": 5, "notification": 6}

// benchCommand runs `bazaar bench`.
func benchCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var c clientFlags
	fs := flag.NewFlagSet("bazaar bench", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() { fmt.Fprint(stdout, benchUsage); fs.PrintDefaults() }
	c.register(fs, getenv, "catalog", "")
	scenarioList := fs.String("scenario", "browse", "scenarios to run, comma-separated, or all ("+strings.Join(scenarios.All, ",")+"; also "+strings.Join(scenarios.Extra, ",")+")")
	baseline := fs.String("baseline", "", "echo: run the echo scenario first and print every scenario's throughput as a ratio to it")
	duration := fs.Duration("duration", 10*time.Second, "how long each scenario is measured")
	requests := fs.Int64("requests", 0, "measure this many requests per scenario instead of --duration")
	warmup := fs.Duration("warmup", time.Second, "warm-up per scenario, not measured")
	concurrency := fs.Int("concurrency", 16, "closed loop: workers; open loop: most requests in flight")
	rate := fs.Float64("rate", 0, "open loop: requests per second (0: closed loop)")
	jsonOut := fs.Bool("json", false, "print the results as JSON (and no progress)")
	reportDir := fs.String("report", "", "write report.html (with an SVG latency chart), latency.svg and results.json into this directory")
	host := fs.String("host", envOr(getenv, "BENCH_HOST", "127.0.0.1"), "host of the services (env BAZAAR_BENCH_HOST)")
	basePort := fs.Int("base-port", 50051, "the base port of bazaar up: helloworld, identity +2, catalog +3, order +5, notification +6")
	addrs := map[string]*string{}
	for _, svc := range []string{"identity", "order", "notification"} {
		addrs[svc] = fs.String(svc+"-addr", "", "address of the "+svc+" service (default from --host and --base-port)")
	}
	adminAddr := fs.String("admin-addr", envOr(getenv, "ADMIN_ADDR", "127.0.0.1:9090"), "the admin HTTP address of bazaar up, for the server's CPU and RSS when local (empty: do not measure)")
	adminPassword := fs.String("admin-password", getenv("BAZAAR_ADMIN_PASSWORD"), "the bootstrap admin's password (checkout, upload, notify, chat) (env BAZAAR_ADMIN_PASSWORD)")
	imageSize := fs.Int("image-size", scenarios.DefaultImageSize, "upload, upload-sink: about how many bytes each image has (at most the catalog's 10 MiB)")
	subscribers := fs.Int("subscribers", 0, "notify: customers subscribed to their notifications (default and at least --concurrency)")
	connsPer := fs.Int("conns", 1, "connections per service that the unary calls spread over, round-robin by worker")
	compression := fs.String("compression", "", "compress every call to the services with this compressor (gzip); default none")
	// clientFlags' --addr and --timeout mean something narrower here.
	fs.Lookup("addr").Usage = "address of the catalog service (default from --host and --base-port)"
	fs.Lookup("timeout").Usage = "deadline of each request"
	fs.Lookup("timeout").DefValue = "10s"
	fs.Lookup("token").Usage = "an admin's access token, used instead of --admin-password (env BAZAAR_TOKEN)"
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return errors.New("bazaar bench takes no arguments")
	}
	timeoutSet := false
	fs.Visit(func(f *flag.Flag) { timeoutSet = timeoutSet || f.Name == "timeout" })
	if !timeoutSet {
		c.timeout = 10 * time.Second // per request
	}
	addrs["catalog"] = &c.addr
	for svc, a := range addrs {
		if *a == "" {
			*a = net.JoinHostPort(*host, strconv.Itoa(*basePort+serviceOffsets[svc]))
		}
	}

	names, err := benchScenarios(*scenarioList, *baseline)
	if err != nil {
		fs.Usage()
		return err
	}
	cfg := bench.Config{Duration: *duration, Requests: *requests, Warmup: *warmup, Concurrency: *concurrency, Rate: *rate, Timeout: c.timeout}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Concurrency <= 0 {
		return errors.New("--concurrency must be positive")
	}
	if *connsPer < 1 {
		return errors.New("--conns must be at least 1")
	}
	if *imageSize < 1<<10 || *imageSize > images.DefaultMaxImageSize {
		return fmt.Errorf("--image-size %d: want 1 KiB to %d bytes (the catalog's limit)", *imageSize, images.DefaultMaxImageSize)
	}
	var callOpts []grpc.CallOption
	switch *compression {
	case "", encoding.Identity:
	default:
		if encoding.GetCompressor(*compression) == nil {
			return fmt.Errorf("--compression %q: not a registered compressor (gzip is)", *compression)
		}
		callOpts = append(callOpts, grpc.UseCompressor(*compression))
	}
	log := stdout
	if *jsonOut {
		log = io.Discard
	} else {
		live := false
		if f, ok := stdout.(*os.File); ok {
			live = term.IsTerminal(int(f.Fd())) //nolint:gosec // a file descriptor fits an int
		}
		cfg.Progress = &bench.Progress{W: stdout, Live: live}
	}

	env := scenarios.Env{
		Dial: func(service string) (*grpc.ClientConn, error) {
			d := c
			d.service, d.addr = service, *addrs[service]
			d.timeout = 0 // long-lived streams (chat, notifications): each request has its own deadline
			return d.dial()
		},
		DialEcho: func(addr string) (*grpc.ClientConn, error) {
			return grpcx.NewClient(addr, grpcx.WithTransportCredentials(insecure.NewCredentials()))
		},
		AdminPassword: *adminPassword, AdminToken: c.token,
		Workers: cfg.Concurrency, Subscribers: *subscribers, ImageSize: *imageSize, Conns: *connsPer, CallOptions: callOpts, Log: log,
	}
	measureServer := *adminAddr != "" && bench.IsLocal(c.addr)
	fmt.Fprintf(log, "bazaar bench: %s, %s per scenario after %s of warm-up; catalog at %s; %s\n",
		bench.DescribeMode(cfg), describeBound(cfg), cfg.Warmup, c.addr, describeTransport(*connsPer, *compression))

	report := &bench.Report{Time: time.Now().UTC(), Target: c.addr, Command: "bazaar bench " + strings.Join(redactSecrets(args), " ")}
	var failed []error
	var base *bench.Result
	for _, name := range names {
		res, err := runScenario(ctx, name, env, cfg, measureServer, *adminAddr, log)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintf(log, "%s: %v\n", name, err)
			failed = append(failed, fmt.Errorf("%s: %w", name, err))
			continue
		}
		if name == "echo" && *baseline == "echo" {
			base = res
		}
		report.Results = append(report.Results, res)
	}
	for _, r := range report.Results {
		if base != nil && r != base {
			r.CompareTo(base)
		}
	}
	if *reportDir != "" {
		if err := bench.WriteReport(*reportDir, report); err != nil {
			return err
		}
		fmt.Fprintf(log, "report: %s\n", *reportDir+"/report.html")
	}
	if *jsonOut {
		if err := bench.WriteJSON(stdout, report); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(stdout)
		if err := bench.WriteText(stdout, report.Results); err != nil {
			return err
		}
		for _, r := range report.Results {
			if r.Errors["ResourceExhausted"] > 0 {
				fmt.Fprintln(stdout, "ResourceExhausted: the server's rate limits refused calls; to measure the services rather than the limiter, "+
					"start `bazaar up` with --rate-limit 1000000/1000000 --anonymous-rate-limit 1000000/1000000")
				break
			}
		}
	}
	return errors.Join(failed...)
}

// benchScenarios expands --scenario and --baseline into the run order.
func benchScenarios(list, baseline string) ([]string, error) {
	var names []string
	for n := range strings.SplitSeq(list, ",") {
		n = strings.TrimSpace(n)
		switch {
		case n == "":
			continue
		case n == "all":
			names = append(names, scenarios.All...)
		case scenarios.Known(n):
			names = append(names, n)
		default:
			return nil, fmt.Errorf("unknown scenario %q", n)
		}
	}
	switch baseline {
	case "":
	case "echo":
		names = slices.DeleteFunc(names, func(n string) bool { return n == "echo" })
		names = append([]string{"echo"}, names...)
	default:
		return nil, fmt.Errorf("--baseline %q: the only baseline is echo", baseline)
	}
	names = slices.Compact(names)
	if len(names) == 0 {
		return nil, errors.New("no scenario given")
	}
	return names, nil
}

func describeTransport(conns int, compression string) string {
	s := "1 connection per service"
	if conns > 1 {
		s = fmt.Sprintf("%d connections per service", conns)
	}
	if compression != "" && compression != encoding.Identity {
		s += ", " + compression + " compression"
	}
	return s
}

func describeBound(cfg bench.Config) string {
	if cfg.Requests > 0 {
		return fmt.Sprintf("%d requests", cfg.Requests)
	}
	return cfg.Duration.String()
}

// runScenario sets name up, runs it and releases it; with measureServer,
// it scrapes the server's process metrics around the measured part.
func runScenario(ctx context.Context, name string, env scenarios.Env, cfg bench.Config, measureServer bool, adminAddr string, log io.Writer) (*bench.Result, error) {
	fmt.Fprintf(log, "%s: setting up\n", name)
	s, err := scenarios.New(ctx, name, env)
	if err != nil {
		return nil, fmt.Errorf("setup: %w", describe(err))
	}
	defer func() { _ = s.Close() }()
	// The warm-up, then the scrape, then the measured part: Run does both
	// parts, so warm up here and let Run measure only.
	if cfg.Warmup > 0 {
		w := cfg
		w.Duration, w.Requests, w.Warmup = cfg.Warmup, 0, 0
		w.Progress = nil
		if _, err := bench.Run(ctx, s, w); err != nil {
			return nil, err
		}
		cfg.Warmup = 0
	}
	// echo's and upload-sink's server is this process: the target's
	// metrics say nothing of them.
	measureServer = measureServer && name != "echo" && name != "upload-sink"
	var before bench.ProcessSample
	if measureServer {
		if before, err = bench.ScrapeProcess(ctx, adminAddr); err != nil {
			fmt.Fprintf(log, "%s: server CPU/RSS not measured: %v\n", name, err)
			measureServer = false
		}
	}
	machine := bench.SampleMachine()
	res, err := bench.Run(ctx, s, cfg)
	if err != nil {
		return nil, err
	}
	res.Machine = bench.Machine(machine, bench.SampleMachine())
	if measureServer {
		if after, err := bench.ScrapeProcess(ctx, adminAddr); err == nil {
			res.Server = bench.Usage(before, after)
		} else {
			fmt.Fprintf(log, "%s: server CPU/RSS not measured: %v\n", name, err)
		}
	}
	if n, ok := s.(scenarios.Noter); ok {
		res.Note = n.Note()
	}
	return res, nil
}

// redactSecrets hides the values of --admin-password and --token, so that
// a report can be shared.
func redactSecrets(args []string) []string {
	out := slices.Clone(args)
	for i, a := range out {
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || (name != "admin-password" && name != "token") {
			continue
		}
		if hasValue {
			out[i] = a[:strings.Index(a, "=")+1] + "REDACTED"
		} else if i+1 < len(out) {
			out[i+1] = "REDACTED"
		}
	}
	return out
}
