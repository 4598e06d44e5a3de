package images

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing the n bytes at off of f
// to disk, without waiting (sync_file_range SYNC_FILE_RANGE_WRITE). It is
// an optimisation only: durability still comes from Commit's fsync, so a
// failure is ignored.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
