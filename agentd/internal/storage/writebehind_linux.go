package storage

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// rangeSyncFunc returns sync_file_range on f: SYNC_FILE_RANGE_WRITE starts
// writeback of the range; with wait, WAIT_BEFORE|WRITE|WAIT_AFTER waits for
// all of it. The error of a waited range must not be dropped: the kernel
// reports a writeback error once per open file, so Commit's fsync would not
// see it again.
func rangeSyncFunc(f *os.File) func(off, n int64, wait bool) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil
	}
	return func(off, n int64, wait bool) error {
		flags := unix.SYNC_FILE_RANGE_WRITE
		if wait {
			flags |= unix.SYNC_FILE_RANGE_WAIT_BEFORE | unix.SYNC_FILE_RANGE_WAIT_AFTER
		}
		var serr error
		if err := rc.Control(func(fd uintptr) {
			for {
				if serr = unix.SyncFileRange(int(fd), off, n, flags); !errors.Is(serr, unix.EINTR) {
					return
				}
			}
		}); err != nil {
			return err
		}
		switch {
		case errors.Is(serr, unix.ENOSYS), errors.Is(serr, unix.EINVAL),
			errors.Is(serr, unix.EOPNOTSUPP), errors.Is(serr, unix.ESPIPE):
			return errRangeSyncUnsupported
		case serr != nil:
			return &os.PathError{Op: "sync_file_range", Path: f.Name(), Err: serr}
		}
		return nil
	}
}

// dropCacheFunc returns posix_fadvise(POSIX_FADV_DONTNEED) on f (n 0: to the
// end of the file). Its error is ignored: it is a hint about clean pages, it
// loses no data, and a kernel that refuses it keeps them cached.
func dropCacheFunc(f *os.File) func(off, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil
	}
	return func(off, n int64) {
		_ = rc.Control(func(fd uintptr) { _ = unix.Fadvise(int(fd), off, n, unix.FADV_DONTNEED) })
	}
}
