package images_test

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/catalog/images"
)

func newBlobStore(t *testing.T) (*images.BlobStore, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "blobs") // NewBlobStore creates it
	s, err := images.NewBlobStore(dir, images.WithFileMode(0o640))
	if err != nil {
		t.Fatalf("NewBlobStore(%q) = %v", dir, err)
	}
	return s, dir
}

func TestBlobCommitMakesBlobVisibleWhole(t *testing.T) {
	t.Parallel()
	s, dir := newBlobStore(t)
	b, err := s.Create()
	if err != nil {
		t.Fatalf("Create() = %v", err)
	}
	defer func() { _ = b.Abort() }()
	for _, part := range []string{"hello, ", "world"} {
		if _, err := b.Write([]byte(part)); err != nil {
			t.Fatalf("Write(%q) = %v", part, err)
		}
	}
	if _, err := s.Open("blob-1"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(blob-1) before Commit = %v, want fs.ErrNotExist", err)
	}
	if err := b.Commit("blob-1"); err != nil {
		t.Fatalf("Commit(blob-1) = %v", err)
	}
	if err := b.Abort(); err != nil {
		t.Errorf("Abort() after Commit = %v, want nil (a no-op)", err)
	}
	if _, err := b.Write([]byte("more")); err == nil {
		t.Errorf("Write() after Commit = nil error, want an error")
	}
	if err := b.Commit("blob-2"); err == nil {
		t.Errorf("second Commit() = nil error, want an error")
	}
	f, err := s.Open("blob-1")
	if err != nil {
		t.Fatalf("Open(blob-1) = %v", err)
	}
	got, err := io.ReadAll(f)
	_ = f.Close()
	if err != nil || string(got) != "hello, world" {
		t.Errorf("blob-1 reads %q, %v; want %q", got, err, "hello, world")
	}
	if files := regularFiles(t, dir); len(files) != 1 || files[0] != filepath.Join("bl", "blob-1") {
		t.Errorf("store holds %q, want just bl/blob-1", files)
	}
	info, err := os.Stat(filepath.Join(dir, "bl", "blob-1"))
	if err != nil || info.Mode().Perm() != 0o640 {
		t.Errorf("blob mode = %v (%v), want 0640", info.Mode(), err)
	}

	if err := s.Remove("blob-1"); err != nil {
		t.Errorf("Remove(blob-1) = %v", err)
	}
	if err := s.Remove("blob-1"); err != nil {
		t.Errorf("Remove(blob-1) again = %v, want nil", err)
	}
	if files := regularFiles(t, dir); len(files) != 0 {
		t.Errorf("store holds %q after Remove, want nothing", files)
	}
}

func TestBlobAbortLeavesNothing(t *testing.T) {
	t.Parallel()
	s, dir := newBlobStore(t)
	b, err := s.Create()
	if err != nil {
		t.Fatalf("Create() = %v", err)
	}
	if _, err := b.Write([]byte("partial")); err != nil {
		t.Fatalf("Write() = %v", err)
	}
	if files := regularFiles(t, dir); len(files) != 1 {
		t.Fatalf("store holds %q while writing, want one pending file", files)
	}
	if err := b.Abort(); err != nil {
		t.Errorf("Abort() = %v", err)
	}
	if err := b.Abort(); err != nil {
		t.Errorf("second Abort() = %v, want nil", err)
	}
	if files := regularFiles(t, dir); len(files) != 0 {
		t.Errorf("store holds %q after Abort, want nothing", files)
	}
}

func TestBlobIDsCannotEscapeTheStore(t *testing.T) {
	t.Parallel()
	s, dir := newBlobStore(t)
	for _, id := range []string{"", "a", "../../etc/passwd", "ab/../../x", "a b", string(make([]byte, 65))} {
		if _, err := s.Open(id); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(%q) = %v, want fs.ErrNotExist", id, err)
		}
		if err := s.Remove(id); err == nil {
			t.Errorf("Remove(%q) = nil error, want an error", id)
		}
		b, err := s.Create()
		if err != nil {
			t.Fatalf("Create() = %v", err)
		}
		if err := b.Commit(id); err == nil {
			t.Errorf("Commit(%q) = nil error, want an error", id)
		}
	}
	if files := regularFiles(t, dir); len(files) != 0 {
		t.Errorf("store holds %q after refused commits, want nothing", files)
	}
}

func TestBlobRemovePendingBefore(t *testing.T) {
	t.Parallel()
	s, dir := newBlobStore(t)
	stale, err := s.Create()
	if err != nil {
		t.Fatalf("Create() = %v", err)
	}
	defer func() { _ = stale.Abort() }()
	fresh, err := s.Create()
	if err != nil {
		t.Fatalf("Create() = %v", err)
	}
	defer func() { _ = fresh.Abort() }()
	committed, err := s.Create()
	if err != nil {
		t.Fatalf("Create() = %v", err)
	}
	if err := committed.Commit("kept-blob"); err != nil {
		t.Fatalf("Commit() = %v", err)
	}

	// Age every file, then touch the fresh pending blob: the sweep must
	// remove only the stale pending one, never a committed blob.
	now := time.Now()
	long := now.Add(-48 * time.Hour)
	for _, f := range regularFiles(t, dir) {
		if err := os.Chtimes(filepath.Join(dir, f), long, long); err != nil {
			t.Fatalf("os.Chtimes(%s) = %v", f, err)
		}
	}
	if _, err := fresh.Write([]byte("still arriving")); err != nil {
		t.Fatalf("Write() = %v", err)
	}
	n, err := s.RemovePendingBefore(now.Add(-time.Hour))
	if err != nil || n != 1 {
		t.Errorf("RemovePendingBefore(an hour ago) = %d, %v; want 1, nil", n, err)
	}
	if files := regularFiles(t, dir); len(files) != 2 {
		t.Errorf("store holds %q after the sweep, want the fresh pending blob and kept-blob", files)
	}
	if _, err := s.Open("kept-blob"); err != nil {
		t.Errorf("Open(kept-blob) after the sweep = %v", err)
	}
	if err := fresh.Commit("fresh-blob"); err != nil {
		t.Errorf("Commit() of the fresh pending blob after the sweep = %v", err)
	}
}

func ExampleBlobStore() {
	dir, err := os.MkdirTemp("", "blobs")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = os.RemoveAll(dir) }()

	store, err := images.NewBlobStore(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	b, err := store.Create()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = b.Abort() }() // a no-op after Commit
	_, _ = b.Write([]byte("bytes of an image"))
	if _, err := store.Open("img-1"); errors.Is(err, fs.ErrNotExist) {
		fmt.Println("before Commit: not there")
	}
	if err := b.Commit("img-1"); err != nil {
		fmt.Println(err)
		return
	}
	f, err := store.Open("img-1")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = f.Close() }()
	data, _ := io.ReadAll(f)
	fmt.Printf("after Commit: %q\n", data)
	// Output:
	// before Commit: not there
	// after Commit: "bytes of an image"
}
