package bench

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMachine: the usage between two samples, and the warning when other
// work or steal took a share of the machine.
func TestMachine(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_000, 0)
	before := MachineSample{At: t0, ClientCPU: time.Second, Busy: 1_000, Steal: 10, Total: 2_000, Cores: 2, ok: true}
	after := MachineSample{At: t0.Add(2 * time.Second), ClientCPU: 2 * time.Second, Busy: 1_300, Steal: 30, Total: 2_400, Cores: 2, ok: true}
	m := Machine(before, after)
	if m == nil {
		t.Fatal("Machine() = nil, want usage")
	}
	// 1 s of client CPU over 2 s; 300 busy ticks of 400 on 2 cores; 20 of 400 stolen.
	if m.ClientCPUCores != 0.5 || m.BusyCores != 1.5 || m.StealPercent != 5 || m.Cores != 2 {
		t.Errorf("Machine() = %+v, want client 0.5, busy 1.5, steal 5 %%, 2 cores", m)
	}
	if got := m.OtherCores(&ServerUsage{CPUCores: 0.75}); got != 0.25 {
		t.Errorf("OtherCores(server 0.75) = %v, want 0.25", got)
	}
	var out strings.Builder
	m.print(&out, "browse", &ServerUsage{CPUCores: 0.75})
	if !strings.Contains(out.String(), "browse machine: bench client 0.50 CPU cores, all processes 1.50 of 2, steal 5.0 %") ||
		!strings.Contains(out.String(), "WARNING: other work took 0.25 cores") {
		t.Errorf("print() =\n%s\nwant the usage line and a warning", out.String())
	}
	m.StealPercent = 1
	out.Reset()
	m.print(&out, "browse", &ServerUsage{CPUCores: 1.0}) // client 0.5 + server 1.0 of 1.5 busy
	if strings.Contains(out.String(), "WARNING") {
		t.Errorf("print() with nothing else running =\n%s\nwant no warning", out.String())
	}
	if Machine(MachineSample{At: t0}, after) != nil {
		t.Error("Machine(a sample not taken, ...) != nil, want nil")
	}
}

// TestSampleMachine reads the real counters (Linux).
func TestSampleMachine(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("/proc/stat is Linux's")
	}
	before := SampleMachine()
	deadline := time.Now().Add(50 * time.Millisecond)
	for n := 0; time.Now().Before(deadline); n++ { // some CPU of our own
		_ = n * n
	}
	m := Machine(before, SampleMachine())
	if m == nil {
		t.Fatal("Machine() = nil on Linux, want usage")
	}
	if m.Cores < runtime.NumCPU() || m.ClientCPUCores <= 0 || m.BusyCores <= 0 || m.StealPercent < 0 {
		t.Errorf("Machine() = %+v, want at least %d cores and positive client and busy CPU", m, runtime.NumCPU())
	}
}
