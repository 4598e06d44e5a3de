package bench

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SampleMachine reads this process's CPU time (getrusage) and the
// machine's CPU ticks (/proc/stat's first line: user nice system idle
// iowait irq softirq steal ...).
func SampleMachine() MachineSample {
	s := MachineSample{At: time.Now()}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return s
	}
	s.ClientCPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	f, err := os.Open("/proc/stat")
	if err != nil {
		return s
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) > 0 && fields[0] == "cpu":
			var t [8]uint64
			for i := range t {
				if i+1 >= len(fields) {
					return s
				}
				if t[i], err = strconv.ParseUint(fields[i+1], 10, 64); err != nil {
					return s
				}
			}
			user, nice, system, idle, iowait, irq, softirq, steal := t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]
			s.Busy = user + nice + system + irq + softirq
			s.Steal = steal
			s.Total = user + nice + system + idle + iowait + irq + softirq + steal
		case len(fields) > 0 && strings.HasPrefix(fields[0], "cpu"):
			s.Cores++
		}
	}
	s.ok = s.Total > 0 && sc.Err() == nil
	return s
}
