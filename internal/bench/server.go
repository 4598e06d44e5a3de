package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ServerUsage is what the target process used over a run, from its
// Prometheus process collector (process_cpu_seconds_total and
// process_resident_memory_bytes on the admin endpoint's /metrics).
type ServerUsage struct {
	CPUSeconds  float64 `json:"cpu_seconds"`
	CPUCores    float64 `json:"cpu_cores"` // CPU seconds per wall second
	RSSBeforeMB float64 `json:"rss_before_mb"`
	RSSAfterMB  float64 `json:"rss_after_mb"`
}

// ProcessSample is one scrape.
type ProcessSample struct {
	At         time.Time
	CPUSeconds float64
	RSSBytes   float64
}

// Usage is the usage between two samples.
func Usage(before, after ProcessSample) *ServerUsage {
	u := &ServerUsage{
		CPUSeconds:  after.CPUSeconds - before.CPUSeconds,
		RSSBeforeMB: before.RSSBytes / 1e6, RSSAfterMB: after.RSSBytes / 1e6,
	}
	if wall := after.At.Sub(before.At).Seconds(); wall > 0 {
		u.CPUCores = u.CPUSeconds / wall
	}
	return u
}

// IsLocal reports whether addr (host:port) is on this machine's loopback.
func IsLocal(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// scrapeClient keeps no idle connections: a scrape is rare, and nothing
// lingers after the run.
var scrapeClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// ScrapeProcess reads the process metrics of http://adminAddr/metrics.
func ScrapeProcess(ctx context.Context, adminAddr string) (ProcessSample, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+adminAddr+"/metrics", nil)
	if err != nil {
		return ProcessSample{}, err
	}
	resp, err := scrapeClient.Do(req)
	if err != nil {
		return ProcessSample{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return ProcessSample{}, fmt.Errorf("GET %s/metrics: %s", adminAddr, resp.Status)
	}
	s, err := ParseProcessMetrics(resp.Body)
	s.At = time.Now()
	return s, err
}

// ParseProcessMetrics reads process_cpu_seconds_total and
// process_resident_memory_bytes from Prometheus text exposition.
func ParseProcessMetrics(r io.Reader) (ProcessSample, error) {
	var s ProcessSample
	var haveCPU, haveRSS bool
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case "process_cpu_seconds_total", "process_resident_memory_bytes":
		default:
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return s, fmt.Errorf("%s: %w", name, err)
		}
		if name == "process_cpu_seconds_total" {
			s.CPUSeconds, haveCPU = v, true
		} else {
			s.RSSBytes, haveRSS = v, true
		}
	}
	if err := sc.Err(); err != nil {
		return s, err
	}
	if !haveCPU || !haveRSS {
		return s, fmt.Errorf("no process_cpu_seconds_total or process_resident_memory_bytes (no Prometheus process collector)")
	}
	return s, nil
}
