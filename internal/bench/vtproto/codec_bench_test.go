//go:build vtbench

// BenchmarkCodec compares protobuf-go with vtprotobuf on a real
// ListProductsResponse (a page of 20). It belongs to no package here: run.sh
// generates the catalog's vtproto code into a temp dir and compiles both
// into gen/bazaar/catalog/v1 through `go test -overlay`, so that gen/ and
// buf.gen.yaml stay as they are. The build tag keeps it out of every other
// build.
package catalogv1

import (
	"os"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// page reads the response from the protojson file $VT_PAGE.
func page(b *testing.B) *ListProductsResponse {
	raw, err := os.ReadFile(os.Getenv("VT_PAGE"))
	if err != nil {
		b.Fatal(err)
	}
	var m ListProductsResponse
	if err := protojson.Unmarshal(raw, &m); err != nil {
		b.Fatal(err)
	}
	if len(m.Products) != 20 {
		b.Fatalf("%d products", len(m.Products))
	}
	return &m
}

func BenchmarkCodec(b *testing.B) {
	m := page(b)
	wire, err := proto.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	vtWire, err := m.MarshalVT()
	if err != nil {
		b.Fatal(err)
	}
	var back ListProductsResponse
	if err := back.UnmarshalVT(wire); err != nil || !proto.Equal(&back, m) || len(vtWire) != len(wire) {
		b.Fatalf("vtproto disagrees with proto: err %v, equal %v, %d vs %d bytes", err, proto.Equal(&back, m), len(vtWire), len(wire))
	}
	b.Logf("a page of 20: %d bytes", len(wire))
	b.Run("marshal/proto", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b, cpuTime())
		for b.Loop() {
			if _, err := proto.Marshal(m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("marshal/vtproto", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b, cpuTime())
		for b.Loop() {
			if _, err := m.MarshalVT(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unmarshal/proto", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b, cpuTime())
		for b.Loop() {
			var out ListProductsResponse
			if err := proto.Unmarshal(wire, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unmarshal/vtproto", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b, cpuTime())
		for b.Loop() {
			var out ListProductsResponse
			if err := out.UnmarshalVT(wire); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per op: wall time means little on a
// machine whose 2 cores are shared with load average 8.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}
