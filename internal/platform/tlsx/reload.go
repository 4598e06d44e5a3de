package tlsx

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultCheckInterval is how often, at most, a Reloader looks at its
// files: handshakes in between use what it holds without touching the
// disk.
const DefaultCheckInterval = time.Second

// ReloaderOption configures NewReloader.
type ReloaderOption interface{ applyReloader(*reloaderConfig) }

type reloaderOptionFunc func(*reloaderConfig)

func (f reloaderOptionFunc) applyReloader(c *reloaderConfig) { f(c) }

type reloaderConfig struct {
	interval time.Duration
	log      *slog.Logger
}

// WithCheckInterval sets the minimum time between two looks at the files.
// 0 looks at every handshake (tests). Default DefaultCheckInterval (1 s).
func WithCheckInterval(d time.Duration) ReloaderOption {
	return reloaderOptionFunc(func(c *reloaderConfig) { c.interval = d })
}

// WithLogger logs each reload (Info) and each rejected set of files (Warn,
// once per change on disk). Default: a logger that discards everything.
func WithLogger(l *slog.Logger) ReloaderOption {
	return reloaderOptionFunc(func(c *reloaderConfig) { c.log = l })
}

// Reloader holds a certificate, its private key and a CA pool read from
// files, and re-reads them when they change, so certificates rotate without
// a restart. It is safe for concurrent use; the configurations of config.go
// consult it at every handshake.
//
// The files are looked at, at most once per check interval, by the first
// use after it (a handshake, Certificate, CAPool): a different file (an
// atomic rename), modification time or size is a change, and the files are
// read again. Files that cannot be used replace nothing: the Reloader
// keeps serving the last good set, records why (LastError), and reads
// again only once the files change again. Unusable means unreadable, not
// strict PEM (a half-written file), a certificate that does not match its
// key (a rotation caught between the renames of the key and the
// certificate), or a certificate that does not chain to the CA file or is
// outside its validity period.
//
// A certificate that expires while in use is not noticed here, since
// nothing changed on disk: export Certificate().Leaf.NotAfter as a metric
// and renew well before (GenerateDevPKI does at two thirds of the
// lifetime).
type Reloader struct {
	certFile, keyFile, caFile string
	cfg                       reloaderConfig
	epoch                     time.Time // reference for nextCheck (monotonic)

	current   atomic.Pointer[material]
	nextCheck atomic.Int64 // time.Since(epoch) at which files are looked at again

	mu      sync.Mutex // serializes looks at the files; guards seen and lastErr
	seen    fileStamps // files as stat-ed before the last read, good or bad
	lastErr error
}

// material is one consistent, validated set of files. It is never modified
// after creation, so handshakes share it freely.
type material struct {
	cert tls.Certificate // Leaf is set
	pool *x509.CertPool
}

// NewReloader reads certFile (PEM, the leaf first, then any
// intermediates), keyFile (PEM private key) and caFile (PEM certificates,
// the trust bundle for peers) and returns a Reloader serving them. It fails
// if they are not usable (see Reloader) or an option is invalid: a service
// must not start with a broken or expired certificate.
func NewReloader(certFile, keyFile, caFile string, opts ...ReloaderOption) (*Reloader, error) {
	cfg := reloaderConfig{interval: DefaultCheckInterval, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o.applyReloader(&cfg)
	}
	if cfg.interval < 0 {
		return nil, fmt.Errorf("tlsx: reloader: check interval %v is negative", cfg.interval)
	}
	if cfg.log == nil {
		return nil, errors.New("tlsx: reloader: nil logger")
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile, caFile: caFile, cfg: cfg, epoch: time.Now()}
	r.seen = stampFiles(certFile, keyFile, caFile)
	m, err := loadMaterial(certFile, keyFile, caFile, time.Now())
	if err != nil {
		return nil, fmt.Errorf("tlsx: reloader: %w", err)
	}
	r.current.Store(m)
	r.nextCheck.Store(int64(cfg.interval))
	return r, nil
}

// Certificate returns the current certificate and key, with Leaf set,
// after looking for new files if the check interval has passed. The result
// must not be modified.
func (r *Reloader) Certificate() *tls.Certificate { return &r.material().cert }

// CAPool returns the current trust bundle, after looking for new files if
// the check interval has passed. The result must not be modified.
func (r *Reloader) CAPool() *x509.CertPool { return r.material().pool }

// LastError returns why the most recent read of changed files was
// rejected, or nil if it succeeded. While it is non-nil the Reloader serves
// an older set of files: worth a metric and an alert.
func (r *Reloader) LastError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

// Reload reads the files now, changed or not, and switches to them if they
// are usable (for a SIGHUP, or a test). It returns the rejection error, as
// LastError does afterwards; the previous files stay in use then.
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.readLocked(stampFiles(r.certFile, r.keyFile, r.caFile))
	return r.lastErr
}

// material returns the current set, first looking at the files when the
// check interval has passed. Callers that arrive while another looks wait
// for it, so a handshake that starts after the interval has run out since
// a change always gets the new files.
func (r *Reloader) material() *material {
	now := int64(time.Since(r.epoch))
	if now < r.nextCheck.Load() {
		return r.current.Load()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// Someone who looked after we started saw files at least as new as the
	// ones we would see.
	if now >= r.nextCheck.Load() {
		r.nextCheck.Store(int64(time.Since(r.epoch)) + int64(r.cfg.interval))
		if st := stampFiles(r.certFile, r.keyFile, r.caFile); !st.equal(r.seen) {
			r.readLocked(st)
		}
	}
	return r.current.Load()
}

// readLocked reads the files, whose stamps taken before reading are st.
// Stamping first means a change that lands during the read is seen as a
// change at the next look, and read again.
func (r *Reloader) readLocked(st fileStamps) {
	r.seen = st
	m, err := loadMaterial(r.certFile, r.keyFile, r.caFile, time.Now())
	if err != nil {
		r.lastErr = err
		r.cfg.log.Warn("tlsx: rejected new certificate files; keeping the previous ones",
			"cert", r.certFile, "key", r.keyFile, "ca", r.caFile, "error", err)
		return
	}
	r.lastErr = nil
	r.current.Store(m)
	r.cfg.log.Info("tlsx: reloaded certificate",
		"cert", r.certFile, "serial", m.cert.Leaf.SerialNumber.Text(16), "not_after", m.cert.Leaf.NotAfter)
}

// loadMaterial reads and validates one set of files at time now.
func loadMaterial(certFile, keyFile, caFile string, now time.Time) (*material, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	chain, err := decodeCertificates(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certFile, err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM) // checks that the key matches
	if err != nil {
		return nil, fmt.Errorf("%s and %s: %w", certFile, keyFile, err)
	}
	cas, err := decodeCertificates(caPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", caFile, err)
	}
	pool := x509.NewCertPool()
	for _, c := range cas {
		pool.AddCert(c)
	}
	intermediates := x509.NewCertPool()
	for _, c := range chain[1:] {
		intermediates.AddCert(c)
	}
	// Peers verify us against the same bundle, so a certificate that does
	// not chain to it (a CA rotation seen halfway) or is expired would only
	// fail every handshake.
	_, err = chain[0].Verify(x509.VerifyOptions{
		Roots:         pool,
		Intermediates: intermediates,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, fmt.Errorf("%s against %s: %w", certFile, caFile, err)
	}
	cert.Leaf = chain[0]
	return &material{cert: cert, pool: pool}, nil
}

// fileStamps identifies the versions of the three files: an atomic rename
// gives a new file, an in-place write a new modification time or size.
type fileStamps [3]os.FileInfo // nil for a file that could not be stat-ed

func stampFiles(names ...string) fileStamps {
	var st fileStamps
	for i, n := range names {
		st[i], _ = os.Stat(n)
	}
	return st
}

func (s fileStamps) equal(o fileStamps) bool {
	for i := range s {
		a, b := s[i], o[i]
		if (a == nil) != (b == nil) {
			return false
		}
		if a == nil {
			continue
		}
		if !os.SameFile(a, b) || !a.ModTime().Equal(b.ModTime()) || a.Size() != b.Size() {
			return false
		}
	}
	return true
}
