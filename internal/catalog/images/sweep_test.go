package images_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/catalog/images"
)

// TestSweepOrphans: old pending files and old blobs no product refers to
// are removed; referenced blobs and young ones are kept.
func TestSweepOrphans(t *testing.T) {
	t.Parallel()
	env := startEnv(t, nil)
	svc := images.NewService(env.products, env.blobs)
	data := randomPNG(t, 1000)
	kept, err := images.Upload(t.Context(), env.client, knownProduct, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	commit := func(id string) {
		t.Helper()
		b, err := env.blobs.Create()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := b.Commit(id); err != nil {
			t.Fatal(err)
		}
	}
	commit("orphan-old")
	commit("orphan-young")
	crashed, err := env.blobs.Create() // an upload cut off by a crash
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = crashed.Abort() })
	pending, _ := filepath.Glob(filepath.Join(env.blobDir, ".pending-*"))
	if len(pending) != 1 {
		t.Fatalf("pending files = %v, want 1", pending)
	}
	old := time.Now().Add(-2 * time.Hour)
	for _, path := range append(pending, blobPath(env.blobDir, "orphan-old"), blobPath(env.blobDir, kept.GetId())) {
		if err := os.Chtimes(path, old, old); err != nil {
			t.Fatal(err)
		}
	}

	res, err := svc.SweepOrphans(t.Context(), time.Now().Add(-images.DefaultSweepGrace))
	if err != nil {
		t.Fatalf("SweepOrphans() = %v", err)
	}
	if res != (images.SweepResult{Pending: 1, Orphans: 1}) {
		t.Errorf("SweepOrphans() = %+v, want 1 pending and 1 orphan removed", res)
	}
	left, err := env.blobs.CommittedBefore(time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(left)
	want := []string{kept.GetId(), "orphan-young"}
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Errorf("blobs after the sweep = %v, want %v", left, want)
	}
	if _, err := os.Stat(pending[0]); !os.IsNotExist(err) {
		t.Errorf("the crashed upload's pending file is still there (%v)", err)
	}
}

func blobPath(dir, id string) string { return filepath.Join(dir, id[:2], id) }
