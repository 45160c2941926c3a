package spool

import (
	"bytes"
	"crypto/rand"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSpoolInMemoryAndSpilled(t *testing.T) {
	t.Parallel()
	for _, size := range []int{0, 10, MemoryLimit, MemoryLimit + 1, 3*MemoryLimit + 12345} {
		dir := t.TempDir()
		data := make([]byte, size)
		_, _ = rand.Read(data)
		s := New(dir)
		// Write in odd-sized pieces so a spill happens mid-write.
		for off := 0; off < len(data); off += 777_777 {
			end := min(off+777_777, len(data))
			n, err := s.Write(data[off:end])
			require.NoError(t, err)
			require.Equal(t, end-off, n)
		}
		require.NoError(t, s.Close())
		require.EqualValues(t, size, s.Size())
		// Nothing is visible on disk, spilled or not.
		left, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Empty(t, left)
		r, err := s.Reader()
		require.NoError(t, err)
		got, err := io.ReadAll(r)
		require.NoError(t, err)
		require.True(t, bytes.Equal(data, got), "size %d: content differs", size)
		s.Discard()
	}
}

func TestSpoolRefusesMisuse(t *testing.T) {
	t.Parallel()
	s := New(t.TempDir())
	_, err := s.Reader()
	require.Error(t, err)
	require.NoError(t, s.Close())
	_, err = s.Write([]byte("x"))
	require.Error(t, err)
}
