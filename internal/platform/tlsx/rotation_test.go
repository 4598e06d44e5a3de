package tlsx_test

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hellov1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	"github.com/bazaarhq/bazaar/internal/platform/tlsx"
)

// generations records the certificates of each rotation: generation i's
// serial numbers (hex) of the server and of the client.
type generations struct {
	mu      sync.Mutex
	server  map[string]int
	client  map[string]int
	current atomic.Int64 // the newest generation completely on disk
}

func (g *generations) add(i int, pki *tlsx.PKI, t *testing.T) {
	g.mu.Lock()
	g.server[service(t, pki, "greeter").Cert.SerialNumber.Text(16)] = i
	g.client[describeCert(service(t, pki, "caller").Cert)] = i
	g.mu.Unlock()
	g.current.Store(int64(i))
}

// observation is what one call saw: the generation on disk when it began,
// and the certificates the two sides presented.
type observation struct {
	onDisk         int
	server, client string
}

// TestRotationUnderLoad rotates the certificates, keys and CA file of a
// server and its client several times while calls run continuously, both
// on one long-lived connection and on a new connection each time. It
// proves the RELIABILITY.md promise: no call fails (retries are off, so
// none is hidden), every new handshake presents the certificates on disk
// when it started (or newer), established connections carry on with the
// ones they began with, and a half-written file changes nothing.
func TestRotationUnderLoad(t *testing.T) {
	t.Parallel()
	const (
		rotations     = 5
		halfWrittenAt = 3 // before this rotation, greeter.pem is left half written
		period        = 300 * time.Millisecond
		workers       = 4 // of each kind
	)
	dir := t.TempDir()
	names := []string{"greeter", "caller"}
	pki := generateIn(t, dir, names)
	l := pki.Layout
	serverFiles := reloader(t, pki, "greeter", "")
	clientFiles := reloader(t, pki, "caller", "")
	addr := startServer(t, tlsx.ServerCredentials(serverFiles, tlsx.ClientCertRequired))
	creds := tlsx.ClientCredentials(clientFiles, "greeter")
	shared := dial(t, addr, creds)

	gens := &generations{server: map[string]int{}, client: map[string]int{}}
	gens.add(0, pki, t)
	first := describeCert(service(t, pki, "caller").Cert)
	firstServer := service(t, pki, "greeter").Cert.SerialNumber.Text(16)

	// Calls run under t.Context(), not under load: stopping the load must
	// not fail the calls in flight.
	ctx := t.Context()
	load, stop := context.WithCancel(ctx)
	var (
		calls, failures atomic.Int64
		mu              sync.Mutex
		seen            []observation
		wg              sync.WaitGroup
	)
	defer func() { stop(); wg.Wait() }() // also when a check below calls t.Fatal
	failed := func(format string, args ...any) {
		failures.Add(1)
		t.Errorf(format, args...)
	}
	for range workers {
		wg.Go(func() { // calls on one long-lived connection
			for load.Err() == nil {
				got, info, err := hello(ctx, shared)
				calls.Add(1)
				switch {
				case err != nil:
					failed("shared connection: SayHello() = %v", err)
				case got != first || info.State.PeerCertificates[0].SerialNumber.Text(16) != firstServer:
					failed("shared connection changed certificates mid-connection: client %q server %s", got,
						info.State.PeerCertificates[0].SerialNumber.Text(16))
				}
			}
		})
		wg.Go(func() { // a new connection, hence a new handshake, per call
			for load.Err() == nil {
				onDisk := int(gens.current.Load())
				cc, err := newConn(addr, creds)
				if err != nil {
					failed("newConn() = %v", err)
					return
				}
				got, info, err := hello(ctx, hellov1.NewGreeterServiceClient(cc))
				_ = cc.Close()
				calls.Add(1)
				if err != nil {
					failed("new connection: SayHello() = %v", err)
					continue
				}
				mu.Lock()
				seen = append(seen, observation{onDisk, info.State.PeerCertificates[0].SerialNumber.Text(16), got})
				mu.Unlock()
			}
		})
	}

	rotate := func(i int) {
		t.Helper()
		next, err := tlsx.GenerateDevPKI(dir, names, tlsx.WithRenew())
		if err != nil {
			t.Errorf("rotation %d: GenerateDevPKI() = %v", i, err)
			return
		}
		if !next.CA.Reused {
			t.Errorf("rotation %d replaced the CA", i)
		}
		// The CA file is replaced too (same CA, new file), as a trust
		// bundle update would.
		ca, err := os.ReadFile(l.CACertFile())
		if err != nil {
			t.Fatal(err)
		}
		writeAtomic(t, l.CACertFile(), ca)
		gens.add(i, next, t)
	}
	sleep := func() {
		select {
		case <-time.After(period):
		case <-t.Context().Done():
		}
	}
	for i := 1; i <= rotations; i++ {
		sleep()
		if i == halfWrittenAt {
			halfWrite(t, l.CertFile("greeter"), serverFiles, serverSerial(gens, i-1))
			sleep() // handshakes go on against the broken file
		}
		rotate(i)
	}
	sleep()
	stop()
	wg.Wait()

	if err := serverFiles.LastError(); err != nil {
		t.Errorf("server Reloader.LastError() = %v after the last rotation, want nil", err)
	}
	if n := calls.Load(); n < 100 {
		t.Errorf("%d calls in %d rotations, want at least 100: the load did not run", n, rotations)
	}
	t.Logf("%d calls, %d failed, %d new connections", calls.Load(), failures.Load(), len(seen))

	gens.mu.Lock()
	defer gens.mu.Unlock()
	presented := make(map[int]bool)
	stale := 0
	for _, o := range seen {
		sg, ok := gens.server[o.server]
		cg, ok2 := gens.client[o.client]
		if !ok || !ok2 {
			t.Errorf("new connection saw unknown certificates: server %s, client %q", o.server, o.client)
			continue
		}
		presented[sg] = true
		if sg >= o.onDisk && cg >= o.onDisk {
			continue
		}
		if stale++; stale == 1 {
			t.Errorf("new connection began with generation %d on disk, but the server presented generation %d and the client %d",
				o.onDisk, sg, cg)
		}
	}
	if stale > 1 {
		t.Errorf("%d of %d new connections presented stale certificates", stale, len(seen))
	}
	for i := 0; i <= rotations; i++ {
		if !presented[i] {
			t.Errorf("no new connection saw the server's generation %d certificate", i)
		}
	}
}

// serverSerial returns the server's serial number in generation i.
func serverSerial(g *generations, i int) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	for serial, gen := range g.server {
		if gen == i {
			return serial
		}
	}
	return ""
}

// halfWrite leaves the first half of file in place of the whole, the way a
// non-atomic writer interrupted midway would, and checks that r keeps
// serving the certificate with serial want.
func halfWrite(t *testing.T, file string, r *tlsx.Reloader, want string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(); err == nil {
		t.Errorf("Reload() of a half-written %s = nil, want an error", file)
	}
	if r.LastError() == nil {
		t.Errorf("LastError() = nil after a half-written %s", file)
	}
	if got := r.Certificate().Leaf.SerialNumber.Text(16); got != want {
		t.Errorf("after a half-written file the server presents serial %s, want the previous %s", got, want)
	}
}
