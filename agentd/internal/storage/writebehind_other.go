//go:build !linux

package storage

import "os"

// rangeSyncFunc: no portable range sync; Commit's fsync writes everything.
func rangeSyncFunc(*os.File) func(off, n int64, wait bool) error { return nil }

// dropCacheFunc: nothing to drop without a range sync.
func dropCacheFunc(*os.File) func(off, n int64) { return nil }
