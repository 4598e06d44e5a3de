package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/obs"
	"github.com/bazaarhq/bazaar/internal/platform/ratelimit"
	"github.com/bazaarhq/bazaar/internal/platform/tlsx"
)

// upConfig is everything `bazaar up` needs, filled from flags and BAZAAR_*
// environment variables here and nowhere else.
type upConfig struct {
	DataDir       string            // where each service keeps its SQLite file
	Host          string            // the interface every listener binds
	BasePort      int               // service i listens on BasePort+i; 0 picks free ports
	Addrs         map[string]string // explicit per-service addresses (override BasePort)
	AdminAddr     string            // the admin HTTP listener
	LogLevel      slog.Level
	LogFormat     obs.LogFormat
	OTLPEndpoint  string
	SampleRatio   float64
	ShutdownGrace time.Duration
	DatabaseURLs  map[string]string   // per-service database URL; default a SQLite file in DataDir
	AdminEmail    string              // the bootstrap admin of a fresh identity database
	AdminPassword string              // its password; empty: generated and printed once
	Rate          rateLimit           // a signed-in caller's budget
	AnonymousRate rateLimit           // an anonymous caller's budget, per IP
	TLS           bool                // TLS 1.3 on every gRPC listener, mTLS between services
	ClientCerts   tlsx.ClientAuthMode // with TLS: must callers present a certificate?
	Failpoints    string              // crash tests only: saga points where the order service pauses
	CardLatency   time.Duration       // the simulated card processor's delay per call
}

// serviceAddr is where service number i (in services order) listens.
func (c upConfig) serviceAddr(i int, name string) string {
	if a := c.Addrs[name]; a != "" {
		return a
	}
	port := 0
	if c.BasePort != 0 {
		port = c.BasePort + i
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(port))
}

func (c upConfig) validate() error {
	var problems []string
	if c.DataDir == "" {
		problems = append(problems, "data dir is empty")
	}
	if c.BasePort < 0 || c.BasePort+len(services) > 65535 {
		problems = append(problems, fmt.Sprintf("base port %d leaves no room for %d services", c.BasePort, len(services)))
	}
	for name, a := range c.Addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			problems = append(problems, fmt.Sprintf("%s address %q: %v", name, a, err))
		}
	}
	if _, _, err := net.SplitHostPort(c.AdminAddr); err != nil {
		problems = append(problems, fmt.Sprintf("admin address %q: %v", c.AdminAddr, err))
	}
	if c.SampleRatio < 0 || c.SampleRatio > 1 {
		problems = append(problems, fmt.Sprintf("trace sample ratio %v is outside [0, 1]", c.SampleRatio))
	}
	if c.ShutdownGrace <= 0 {
		problems = append(problems, "shutdown grace must be positive")
	}
	if len(problems) > 0 {
		return errors.New("invalid configuration: " + strings.Join(problems, "; "))
	}
	return nil
}

// parseUpConfig reads defaults, then BAZAAR_* variables, then flags.
func parseUpConfig(args []string, getenv func(string) string, out io.Writer) (upConfig, error) {
	env := func(name, def string) string { return envOr(getenv, name, def) }
	fs := flag.NewFlagSet("bazaar up", flag.ContinueOnError)
	fs.SetOutput(out)
	cfg := upConfig{Addrs: map[string]string{}, DatabaseURLs: map[string]string{}}
	fs.StringVar(&cfg.DataDir, "data-dir", env("DATA_DIR", "./bazaar-data"), "data directory (env BAZAAR_DATA_DIR)")
	fs.StringVar(&cfg.Host, "host", env("HOST", "127.0.0.1"), "interface the gRPC listeners bind (env BAZAAR_HOST)")
	basePort := fs.String("base-port", env("BASE_PORT", "50051"), "first service port; services take consecutive ports; 0 picks free ports (env BAZAAR_BASE_PORT)")
	fs.StringVar(&cfg.AdminAddr, "admin-addr", env("ADMIN_ADDR", "127.0.0.1:9090"), "admin HTTP address: /metrics /healthz /readyz /debug/pprof (env BAZAAR_ADMIN_ADDR)")
	logLevel := fs.String("log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error (env BAZAAR_LOG_LEVEL)")
	logFormat := fs.String("log-format", env("LOG_FORMAT", "text"), "text or json (env BAZAAR_LOG_FORMAT)")
	fs.StringVar(&cfg.OTLPEndpoint, "otlp-endpoint", env("OTLP_ENDPOINT", ""), "OTLP/gRPC collector host:port; empty exports no traces (env BAZAAR_OTLP_ENDPOINT)")
	ratio := fs.String("trace-sample-ratio", env("TRACE_SAMPLE_RATIO", "0.1"), "fraction of new traces recorded (env BAZAAR_TRACE_SAMPLE_RATIO)")
	cardLatency := fs.String("card-latency", env("CARD_LATENCY", "0s"), "delay of every call to the simulated card processor, e.g. 1s to watch a checkout step by step (env BAZAAR_CARD_LATENCY)")
	grace := fs.String("shutdown-grace", env("SHUTDOWN_GRACE", "15s"), "how long in-flight calls may finish at shutdown (env BAZAAR_SHUTDOWN_GRACE)")
	tlsDefault, err := strconv.ParseBool(env("TLS", "false"))
	if err != nil {
		return cfg, fmt.Errorf("BAZAAR_TLS: %w", err)
	}
	fs.BoolVar(&cfg.TLS, "tls", tlsDefault, "serve TLS 1.3 with the certificates of DATA_DIR/certs (made if missing) and call other services with mTLS (env BAZAAR_TLS)")
	cfg.ClientCerts = tlsx.ClientCertOptional
	fs.TextVar(&cfg.ClientCerts, "client-certs", cfg.ClientCerts, "with --tls: 'optional' (callers may use tokens instead) or 'required' (internal listeners) (env BAZAAR_CLIENT_CERTS)")
	if v := getenv("BAZAAR_CLIENT_CERTS"); v != "" {
		if err := cfg.ClientCerts.UnmarshalText([]byte(v)); err != nil {
			return cfg, fmt.Errorf("BAZAAR_CLIENT_CERTS: %w", err)
		}
	}
	cfg.Rate = rateLimit{ratelimit.DefaultRate, ratelimit.DefaultBurst}
	cfg.AnonymousRate = rateLimit{ratelimit.DefaultAnonymousRate, ratelimit.DefaultAnonymousBurst}
	for _, r := range []struct {
		flag, env string
		into      *rateLimit
		what      string
	}{
		{"rate-limit", "RATE_LIMIT", &cfg.Rate, "a signed-in caller's calls per second and burst"},
		{"anonymous-rate-limit", "ANONYMOUS_RATE_LIMIT", &cfg.AnonymousRate, "an anonymous caller's (per IP) calls per second and burst"},
	} {
		if v := getenv("BAZAAR_" + r.env); v != "" {
			if err := r.into.UnmarshalText([]byte(v)); err != nil {
				return cfg, fmt.Errorf("BAZAAR_%s: %w", r.env, err)
			}
		}
		fs.TextVar(r.into, r.flag, *r.into, r.what+" as RATE/BURST, e.g. 50/100 (env BAZAAR_"+r.env+")")
	}
	fs.StringVar(&cfg.Failpoints, "failpoints", env("FAILPOINTS", ""), "TESTING ONLY: comma-separated order saga points (after-authorize, ...) where the saga pauses once, printing \"failpoint NAME reached\", for crash tests (env BAZAAR_FAILPOINTS)")
	fs.StringVar(&cfg.AdminEmail, "admin-email", env("ADMIN_EMAIL", "admin@bazaar.local"), "bootstrap admin of a fresh identity database (env BAZAAR_ADMIN_EMAIL)")
	fs.StringVar(&cfg.AdminPassword, "admin-password", env("ADMIN_PASSWORD", ""), "its password; empty generates one and prints it once (env BAZAAR_ADMIN_PASSWORD)")
	for _, s := range services {
		dbEnv := strings.ToUpper(s.name) + "_DATABASE_URL"
		fs.Func(s.name+"-database-url", fmt.Sprintf("%s database: sqlite:///path or postgres://...; default DATA_DIR/%s.db (env BAZAAR_%s)", s.name, s.name, dbEnv), func(v string) error {
			cfg.DatabaseURLs[s.name] = v
			return nil
		})
		if v := getenv("BAZAAR_" + dbEnv); v != "" {
			cfg.DatabaseURLs[s.name] = v
		}
	}
	for _, s := range services {
		envName := strings.ToUpper(s.name) + "_ADDR"
		fs.Func(s.name+"-addr", fmt.Sprintf("%s host:port, overriding base-port (env BAZAAR_%s)", s.name, envName), func(v string) error {
			cfg.Addrs[s.name] = v
			return nil
		})
		if v := getenv("BAZAAR_" + envName); v != "" {
			cfg.Addrs[s.name] = v
		}
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("bazaar up takes no arguments, got %q", fs.Args())
	}
	if cfg.BasePort, err = strconv.Atoi(*basePort); err != nil {
		return cfg, fmt.Errorf("base port %q: %w", *basePort, err)
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		return cfg, fmt.Errorf("log level %q: %w", *logLevel, err)
	}
	cfg.LogFormat = obs.LogFormat(*logFormat)
	if cfg.LogFormat != obs.LogText && cfg.LogFormat != obs.LogJSON {
		return cfg, fmt.Errorf("log format %q: want text or json", *logFormat)
	}
	if cfg.SampleRatio, err = strconv.ParseFloat(*ratio, 64); err != nil {
		return cfg, fmt.Errorf("trace sample ratio %q: %w", *ratio, err)
	}
	if cfg.CardLatency, err = time.ParseDuration(*cardLatency); err != nil {
		return cfg, fmt.Errorf("card latency %q: %w", *cardLatency, err)
	}
	if cfg.CardLatency < 0 {
		return cfg, fmt.Errorf("card latency %q: want a duration >= 0", *cardLatency)
	}
	if cfg.ShutdownGrace, err = time.ParseDuration(*grace); err != nil {
		return cfg, fmt.Errorf("shutdown grace %q: %w", *grace, err)
	}
	return cfg, cfg.validate()
}

// rateLimit is a token bucket's refill rate (per second) and burst, written
// "RATE/BURST".
type rateLimit struct {
	PerSecond float64
	Burst     int
}

// MarshalText implements encoding.TextMarshaler.
func (r rateLimit) MarshalText() ([]byte, error) {
	return []byte(strconv.FormatFloat(r.PerSecond, 'g', -1, 64) + "/" + strconv.Itoa(r.Burst)), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *rateLimit) UnmarshalText(b []byte) error {
	rate, burst, ok := strings.Cut(string(b), "/")
	if !ok {
		return fmt.Errorf("rate limit %q: want RATE/BURST, e.g. 50/100", b)
	}
	perSecond, err := strconv.ParseFloat(rate, 64)
	if err != nil || perSecond <= 0 {
		return fmt.Errorf("rate limit %q: the rate must be a positive number", b)
	}
	n, err := strconv.Atoi(burst)
	if err != nil || n <= 0 {
		return fmt.Errorf("rate limit %q: the burst must be a positive whole number", b)
	}
	*r = rateLimit{PerSecond: perSecond, Burst: n}
	return nil
}
