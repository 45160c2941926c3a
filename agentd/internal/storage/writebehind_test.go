package storage

import (
	"bytes"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk/archive"
)

// rangeCall is one recorded rangeSync (or, with drop, dropCache) call.
type rangeCall struct {
	off, n     int64
	wait, drop bool
}

// recordRanges wraps p's real range sync (so the kernel still does the
// work) and records every call. Call it before the first Write.
func recordRanges(t *testing.T, p *Pending) func() []rangeCall {
	t.Helper()
	sys := p.wb.rangeSync
	if sys == nil {
		t.Skip("no range sync on this platform: Commit's fsync does all the work")
	}
	var mu sync.Mutex
	var calls []rangeCall
	p.wb.rangeSync = func(off, n int64, wait bool) error {
		mu.Lock()
		calls = append(calls, rangeCall{off: off, n: n, wait: wait})
		mu.Unlock()
		return sys(off, n, wait)
	}
	if drop := p.wb.dropCache; drop != nil {
		p.wb.dropCache = func(off, n int64) {
			mu.Lock()
			calls = append(calls, rangeCall{off: off, n: n, drop: true})
			mu.Unlock()
			drop(off, n)
		}
	}
	return func() []rangeCall {
		mu.Lock()
		defer mu.Unlock()
		return append([]rangeCall(nil), calls...)
	}
}

// inline makes p flush in Write itself: stopping the worker before the
// first chunk leaves wrote to call flush directly, as writeBehindAsync
// false does.
func inline(t *testing.T, p *Pending) {
	t.Helper()
	require.NoError(t, p.wb.stop())
	require.Nil(t, p.wb.work)
}

// writeRandom writes size random bytes into p in pieces of 1 B to 300 KiB
// and returns them.
func writeRandom(t *testing.T, p *Pending, size int, seed uint64) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed))
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for off := 0; off < size; {
		n := min(1+rng.IntN(300<<10), size-off)
		got, err := p.Write(data[off : off+n])
		require.NoError(t, err)
		require.Equal(t, n, got)
		off += n
	}
	return data
}

func commit(p *Pending) (string, error) {
	return p.Commit(archive.Manifest{JobID: "job-1"}, archive.Meta{JobID: "job-1"})
}

func TestWriteBehindKeepsBytesAndSyncsEveryRange(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"async", "inline"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			s := openStore(t)
			p, err := s.Begin(ids("snap_1"))
			require.NoError(t, err)
			defer func() { require.NoError(t, p.Abort()) }()
			p.wb.chunk = 256 << 10
			calls := recordRanges(t, p)
			if mode == "inline" {
				inline(t, p)
			}
			var fsyncs int
			p.fsync = func(f *os.File) error { fsyncs++; return f.Sync() }

			data := writeRandom(t, p, 5<<20+12345, 7)
			dir, err := commit(p)
			require.NoError(t, err)
			require.Equal(t, 1, fsyncs, "Commit still fsyncs")
			got, err := os.ReadFile(filepath.Join(dir, archive.ArtifactName))
			require.NoError(t, err)
			require.True(t, bytes.Equal(data, got), "the artifact holds exactly the bytes written")

			// Every range is started once, contiguously from 0, and each
			// but the last (left to the fsync) is waited for right after
			// the next one is started, never before; a waited range is
			// then dropped from the page cache, and Commit drops the rest.
			var started []rangeCall
			var waits, drops int
			all := calls()
			for i, c := range all {
				switch {
				case c.drop && i == len(all)-1:
					require.Equal(t, rangeCall{drop: true}, c, "Commit drops the tail after its fsync")
					drops++
					continue
				case c.drop:
					require.Equal(t, rangeCall{off: all[i-1].off, n: all[i-1].n, drop: true}, c,
						"call %d drops the range just waited for", i)
					require.True(t, all[i-1].wait)
					drops++
					continue
				case !c.wait:
					if len(started) > 0 {
						prev := started[len(started)-1]
						require.Equal(t, prev.off+prev.n, c.off, "call %d: ranges are contiguous", i)
					} else {
						require.Zero(t, c.off)
					}
					require.GreaterOrEqual(t, c.n, p.wb.chunk)
					started = append(started, c)
					continue
				}
				require.GreaterOrEqual(t, len(started), 2, "call %d: a wait before the next range started", i)
				prev := started[len(started)-2]
				require.Equal(t, rangeCall{off: prev.off, n: prev.n, wait: true}, c,
					"call %d waits for the range before the one just started", i)
				waits++
			}
			require.GreaterOrEqual(t, len(started), 15, "5 MiB in 256 KiB chunks")
			require.Equal(t, len(started)-1, waits)
			if p.wb.dropCache != nil {
				require.Equal(t, waits+1, drops)
			}
			last := started[len(started)-1]
			require.LessOrEqual(t, last.off+last.n, int64(len(data)))
		})
	}
}

func TestCommitFsyncsTheWholeArtifactBeforeRecordingIt(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	p, err := s.Begin(ids("snap_1"))
	require.NoError(t, err)
	defer func() { require.NoError(t, p.Abort()) }()
	p.wb.chunk = 64 << 10
	var fsyncs int
	p.fsync = func(f *os.File) error {
		fsyncs++
		fi, err := f.Stat()
		require.NoError(t, err)
		require.Equal(t, int64(1<<20), fi.Size(), "fsync after the last byte")
		require.NoFileExists(t, filepath.Join(p.Dir(), archive.ArtifactName), "fsync before the rename")
		require.NoFileExists(t, filepath.Join(p.Dir(), archive.ManifestName))
		return f.Sync()
	}
	writeRandom(t, p, 1<<20, 1)
	_, err = commit(p)
	require.NoError(t, err)
	require.Equal(t, 1, fsyncs)
}

func TestFailedFsyncCommitsNothing(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	p, err := s.Begin(ids("snap_1"))
	require.NoError(t, err)
	p.fsync = func(*os.File) error { return &os.PathError{Op: "fsync", Path: "x", Err: syscall.EIO} }
	writeRandom(t, p, 100<<10, 2)
	_, err = commit(p)
	require.ErrorIs(t, err, syscall.EIO)
	require.ErrorContains(t, err, "fsync artifact")
	require.NoFileExists(t, filepath.Join(p.Dir(), archive.ArtifactName))
	require.NoError(t, p.Abort())
	require.Empty(t, tree(t, s.Root()))
}

// A failed range sync fails the Pending: the kernel reports a writeback
// error once per file, so the final fsync might not see it again.
func TestRangeSyncErrorFailsWriteAndCommit(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"async", "inline"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			s := openStore(t)
			p, err := s.Begin(ids("snap_1"))
			require.NoError(t, err)
			p.wb.chunk = 64 << 10
			if mode == "inline" {
				inline(t, p)
			}
			eio := &os.PathError{Op: "sync_file_range", Path: "x", Err: syscall.EIO}
			p.wb.rangeSync = func(_, _ int64, wait bool) error {
				if wait {
					return eio
				}
				return nil
			}
			piece := make([]byte, 32<<10)
			var werr error
			for range 64 { // 2 MiB: the second chunk's wait fails
				if _, werr = p.Write(piece); werr != nil {
					break
				}
			}
			if mode == "inline" {
				require.ErrorIs(t, werr, syscall.EIO, "inline: the Write that waited fails")
			}
			if werr != nil {
				_, err := p.Write(piece)
				require.ErrorIs(t, err, syscall.EIO, "and every Write after it")
			}
			_, err = commit(p)
			require.ErrorIs(t, err, syscall.EIO)
			require.ErrorContains(t, err, "write-behind")
			require.NoFileExists(t, filepath.Join(p.Dir(), archive.ArtifactName))
			require.NoError(t, p.Abort())
			require.Empty(t, tree(t, s.Root()))
		})
	}
}

func TestRangeSyncUnsupportedFallsBackToFsync(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	p, err := s.Begin(ids("snap_1"))
	require.NoError(t, err)
	defer func() { require.NoError(t, p.Abort()) }()
	p.wb.chunk = 64 << 10
	var calls int
	p.wb.rangeSync = func(int64, int64, bool) error { calls++; return errRangeSyncUnsupported }
	var fsyncs int
	p.fsync = func(f *os.File) error { fsyncs++; return f.Sync() }
	data := writeRandom(t, p, 1<<20, 3)
	dir, err := commit(p)
	require.NoError(t, err)
	require.Equal(t, 1, calls, "tried once, then off")
	require.Equal(t, 1, fsyncs)
	got, err := os.ReadFile(filepath.Join(dir, archive.ArtifactName))
	require.NoError(t, err)
	require.True(t, bytes.Equal(data, got))
}

func TestAbortDuringWriteBehindRemovesTheFile(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	p, err := s.Begin(ids("snap_1"))
	require.NoError(t, err)
	p.wb.chunk = 64 << 10
	calls := recordRanges(t, p)
	writeRandom(t, p, 3<<20, 4)
	partial := filepath.Join(p.Dir(), archive.ArtifactName+partialSuffix)
	require.FileExists(t, partial)
	require.NoError(t, p.Abort())
	require.Nil(t, p.wb.work, "the worker is stopped")
	require.NotEmpty(t, calls())
	_, err = os.Stat(partial)
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.Empty(t, tree(t, s.Root()))
	_, err = p.Write([]byte("x"))
	require.Error(t, err)
}
