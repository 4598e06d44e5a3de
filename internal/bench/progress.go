package bench

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Progress prints a run's progress: requests, rate, errors and p99 so far.
// Live redraws one line in place several times a second (a terminal);
// otherwise a plain line is printed every Config.ProgressEvery. A nil
// *Progress prints nothing.
type Progress struct {
	W    io.Writer
	Live bool
}

// start begins reporting on rec; the returned func stops it (and ends a
// live line).
func (p *Progress) start(name string, rec *recorder, cfg Config) func() {
	if p == nil || p.W == nil {
		return func() {}
	}
	every := cfg.ProgressEvery
	if p.Live {
		every = 200 * time.Millisecond
	}
	var total string
	if cfg.Requests > 0 {
		total = fmt.Sprintf("/%d", cfg.Requests)
	}
	begin := time.Now()
	line := func() string {
		ok, failed, p99 := rec.snapshot()
		el := time.Since(begin)
		rate := 0.0
		if el > 0 {
			rate = float64(ok) / el.Seconds()
		}
		bar := ""
		if p.Live {
			done := el.Seconds() / cfg.Duration.Seconds()
			if cfg.Requests > 0 {
				done = float64(ok+failed) / float64(cfg.Requests)
			}
			n := int(min(max(done, 0), 1) * 20)
			bar = "[" + strings.Repeat("#", n) + strings.Repeat("-", 20-n) + "] "
		}
		return fmt.Sprintf("%s %s%5.1fs  requests %d%s  %.0f/s  errors %d  p99 %.2fms",
			name, bar, el.Seconds(), ok+failed, total, rate, failed, ms(p99))
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				if p.Live {
					fmt.Fprintf(p.W, "\r\033[K%s\n", line())
				}
				return
			case <-t.C:
				if p.Live {
					fmt.Fprintf(p.W, "\r\033[K%s", line())
				} else {
					fmt.Fprintln(p.W, line())
				}
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
