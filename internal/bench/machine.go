package bench

import (
	"fmt"
	"io"
	"time"
)

// MachineUsage is what the machine did over a run besides the target:
// the bench process's own CPU (its client side: gRPC, HTTP/2, protobuf),
// the CPU of every process, and the time the hypervisor gave to other
// tenants (steal). On a small shared machine these say how far a run's
// figures can be trusted: the bench client and the server share the cores,
// and other work shifts every ratio. Linux only (from /proc/stat and
// getrusage); nil elsewhere.
type MachineUsage struct {
	Cores int `json:"cores"`
	// ClientCPUCores is this process's CPU seconds per wall second.
	ClientCPUCores float64 `json:"client_cpu_cores"`
	// BusyCores is every process's (user, system, interrupts).
	BusyCores float64 `json:"busy_cores"`
	// StealPercent is the share of the machine's time taken by the
	// hypervisor for others.
	StealPercent float64 `json:"steal_percent"`
}

// MachineSample is one reading of the machine's counters.
type MachineSample struct {
	At        time.Time
	ClientCPU time.Duration // this process, user + system
	// Ticks of every CPU since boot, from /proc/stat.
	Busy, Steal, Total uint64
	Cores              int
	ok                 bool
}

// Machine returns the usage between two samples, or nil when either could
// not be taken.
func Machine(before, after MachineSample) *MachineUsage {
	wall := after.At.Sub(before.At).Seconds()
	total := after.Total - before.Total
	if !before.ok || !after.ok || wall <= 0 || total == 0 {
		return nil
	}
	cores := max(after.Cores, 1)
	return &MachineUsage{
		Cores:          cores,
		ClientCPUCores: (after.ClientCPU - before.ClientCPU).Seconds() / wall,
		BusyCores:      float64(after.Busy-before.Busy) / float64(total) * float64(cores),
		StealPercent:   float64(after.Steal-before.Steal) / float64(total) * 100,
	}
}

// OtherCores is the CPU that neither the bench process nor the target
// (when measured) used: other work on the machine during the run.
func (m *MachineUsage) OtherCores(server *ServerUsage) float64 {
	other := m.BusyCores - m.ClientCPUCores
	if server != nil {
		other -= server.CPUCores
	}
	return max(other, 0)
}

// busyWarning is when other work or steal makes a run's ratios doubtful:
// a fifth of a core of someone else's work, or 5 % of the time stolen.
const (
	busyOtherCores   = 0.2
	busyStealPercent = 5
)

func (m *MachineUsage) print(w io.Writer, scenario string, server *ServerUsage) {
	fmt.Fprintf(w, "%s machine: bench client %.2f CPU cores, all processes %.2f of %d, steal %.1f %%\n",
		scenario, m.ClientCPUCores, m.BusyCores, m.Cores, m.StealPercent)
	if other := m.OtherCores(server); other > busyOtherCores || m.StealPercent > busyStealPercent {
		fmt.Fprintf(w, "%s: WARNING: other work took %.2f cores and the hypervisor %.1f %% of the time during this run; compare its ratios with care\n",
			scenario, other, m.StealPercent)
	}
}
