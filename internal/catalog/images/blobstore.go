package images

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// tempPattern names the temporary files of pending blobs. They live in the
// store's own directory, so the rename that commits one never crosses a
// file system (and so is atomic); the leading dot keeps them apart from the
// two-character shard directories of committed blobs.
const tempPattern = ".pending-*"

// BlobStore keeps blobs as files under one directory, each named by its id
// and sharded by the id's first two characters (dir/ab/abcdef...). A blob is
// written to a temporary file first and appears under its final name only
// when committed, whole and synced: no reader ever sees part of a blob.
//
// A BlobStore is safe for concurrent use. Ids must be new: committing an
// id that exists replaces its blob.
type BlobStore struct {
	dir  string
	perm fs.FileMode
}

// BlobStoreOption configures NewBlobStore.
type BlobStoreOption interface{ applyBlobStore(*BlobStore) }

type blobStoreOptionFunc func(*BlobStore)

func (f blobStoreOptionFunc) applyBlobStore(s *BlobStore) { f(s) }

// WithFileMode sets the permissions of blob files. Default 0o600: only the
// catalog's own user reads them.
func WithFileMode(perm fs.FileMode) BlobStoreOption {
	return blobStoreOptionFunc(func(s *BlobStore) { s.perm = perm.Perm() })
}

// NewBlobStore returns a store of blobs under dir, creating dir if needed.
func NewBlobStore(dir string, opts ...BlobStoreOption) (*BlobStore, error) {
	s := &BlobStore{dir: dir, perm: 0o600}
	for _, o := range opts {
		o.applyBlobStore(s)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("images: blob store: %w", err)
	}
	return s, nil
}

// Create starts a new blob. Write its bytes, then Commit or Abort it;
// `defer b.Abort()` right after Create is the safe habit, since Abort after
// Commit does nothing.
func (s *BlobStore) Create() (*PendingBlob, error) {
	f, err := os.CreateTemp(s.dir, tempPattern)
	if err != nil {
		return nil, fmt.Errorf("images: create blob: %w", err)
	}
	if err := f.Chmod(s.perm); err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return nil, fmt.Errorf("images: create blob: %w", err)
	}
	return &PendingBlob{store: s, f: f}, nil
}

// Open opens blob id for reading. A blob that does not exist (or an id
// that cannot name one) is an error matching fs.ErrNotExist.
func (s *BlobStore) Open(id string) (*os.File, error) {
	path, err := s.path(id)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("images: open blob: %w", err)
	}
	return f, nil
}

// Remove deletes blob id. Removing a blob that does not exist is not an
// error.
func (s *BlobStore) Remove(id string) error {
	path, err := s.path(id)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("images: remove blob: %w", err)
	}
	return nil
}

// RemovePendingBefore removes the temporary files of pending blobs last
// written before t, and returns how many it removed. Only a crash leaves
// such files behind (every failed or cancelled upload removes its own);
// run it at startup or now and then with t well before now minus the
// longest upload, since a pending blob still being written would be lost.
func (s *BlobStore) RemovePendingBefore(t time.Time) (int, error) {
	pending, err := filepath.Glob(filepath.Join(s.dir, tempPattern))
	if err != nil {
		return 0, fmt.Errorf("images: sweep pending blobs: %w", err)
	}
	removed := 0
	var errsSeen []error
	for _, path := range pending {
		info, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // committed or aborted meanwhile
		}
		if err != nil {
			errsSeen = append(errsSeen, err)
			continue
		}
		if !info.Mode().IsRegular() || !info.ModTime().Before(t) {
			continue
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errsSeen = append(errsSeen, err)
			continue
		}
		removed++
	}
	if err := errors.Join(errsSeen...); err != nil {
		return removed, fmt.Errorf("images: sweep pending blobs: %w", err)
	}
	return removed, nil
}

// CommittedBefore returns the ids of the committed blobs last written
// before t.
func (s *BlobStore) CommittedBefore(t time.Time) ([]string, error) {
	shards, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("images: list blobs: %w", err)
	}
	var ids []string
	for _, shard := range shards {
		if !shard.IsDir() || len(shard.Name()) != 2 {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(s.dir, shard.Name()))
		if err != nil {
			return nil, fmt.Errorf("images: list blobs: %w", err)
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || !validID(e.Name()) || e.Name()[:2] != shard.Name() {
				continue
			}
			info, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed meanwhile
			}
			if err != nil {
				return nil, fmt.Errorf("images: list blobs: %w", err)
			}
			if info.ModTime().Before(t) {
				ids = append(ids, e.Name())
			}
		}
	}
	return ids, nil
}

// path returns where blob id lives. Ids are 2 to 64 letters, digits, '-'
// or '_', so no id can climb out of the store's directory.
func (s *BlobStore) path(id string) (string, error) {
	if !validID(id) {
		return "", fmt.Errorf("images: blob id %q: %w", id, fs.ErrNotExist)
	}
	return filepath.Join(s.dir, id[:2], id), nil
}

func validID(id string) bool {
	if len(id) < 2 || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// PendingBlob is a blob being written: invisible until Commit.
type PendingBlob struct {
	store *BlobStore
	f     *os.File // nil once committed or aborted
	// written counts the bytes written; flushed, those handed to the
	// kernel's writeback already (see startWriteback).
	written, flushed int64
}

// writebackEvery is how many bytes a blob accumulates before their
// writeback to disk is started, so that Commit's fsync finds most of the
// blob on its way already instead of flushing it all at once.
const writebackEvery = 1 << 20

// Write appends p to the blob.
func (b *PendingBlob) Write(p []byte) (int, error) {
	if b.f == nil {
		return 0, errors.New("images: write to a finished blob")
	}
	n, err := b.f.Write(p)
	b.written += int64(n)
	if err != nil {
		return n, fmt.Errorf("images: write blob: %w", err)
	}
	if b.written-b.flushed >= writebackEvery {
		startWriteback(b.f, b.flushed, b.written-b.flushed)
		b.flushed = b.written
	}
	return n, nil
}

// Commit makes the blob visible as id: the bytes are synced to disk, the
// temporary file renamed (atomically) into place and the directory synced,
// so after a crash the blob is either whole under its name or absent. On
// failure nothing is left behind.
func (b *PendingBlob) Commit(id string) (err error) {
	if b.f == nil {
		return errors.New("images: commit of a finished blob")
	}
	f := b.f
	b.f = nil
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
			err = fmt.Errorf("images: commit blob %s: %w", id, err)
		}
	}()
	path, err := b.store.path(id)
	if err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	shard := filepath.Dir(path)
	if err := os.MkdirAll(shard, 0o700); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	// The rename is durable only once the directory holding the new name is.
	if err := syncDir(shard); err != nil {
		_ = os.Remove(path)
		return err
	}
	return nil
}

// Abort discards the blob. It does nothing after Commit or a first Abort.
func (b *PendingBlob) Abort() error {
	if b.f == nil {
		return nil
	}
	f := b.f
	b.f = nil
	closeErr := f.Close()
	if err := os.Remove(f.Name()); err != nil {
		return fmt.Errorf("images: abort blob: %w", err)
	}
	if closeErr != nil && !errors.Is(closeErr, fs.ErrClosed) {
		return fmt.Errorf("images: abort blob: %w", closeErr)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return err
	}
	return d.Close()
}
