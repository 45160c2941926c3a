// Package spool holds content whose length is unknown until it ends (a
// database dump) so that it can become a tar entry, whose header must state
// its size before its bytes. The first MemoryLimit bytes stay in memory;
// beyond that the content goes to a temporary file that is unlinked as soon
// as it is created (nothing is left behind, even after a crash) and
// encrypted with an age key that exists only in this process's memory, so
// no cleartext dump ever reaches the disk.
package spool

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"filippo.io/age"
)

// MemoryLimit is how much a spool keeps in memory before it spills to disk.
const MemoryLimit = 8 << 20

// Spool collects bytes written to it. Write everything, call Close, then
// read it back once with Reader. A Spool is not safe for concurrent use.
type Spool struct {
	dir    string
	mem    bytes.Buffer
	file   *os.File
	enc    io.WriteCloser
	id     *age.X25519Identity
	size   int64
	closed bool
	limit  int
}

// New returns an empty spool that spills into dir.
func New(dir string) *Spool { return &Spool{dir: dir, limit: MemoryLimit} }

// Write appends p.
func (s *Spool) Write(p []byte) (int, error) {
	if s.closed {
		return 0, errors.New("spool: write after close")
	}
	if s.enc == nil && s.mem.Len()+len(p) <= s.limit {
		s.size += int64(len(p))
		return s.mem.Write(p)
	}
	if s.enc == nil {
		if err := s.spill(); err != nil {
			return 0, err
		}
	}
	n, err := s.enc.Write(p)
	s.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("spool: write: %w", err)
	}
	return n, nil
}

// spill moves the memory buffer into a fresh, unlinked, encrypted file.
func (s *Spool) spill() error {
	f, err := os.CreateTemp(s.dir, "spool-*")
	if err != nil {
		return fmt.Errorf("spool: create temp file: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return fmt.Errorf("spool: unlink temp file: %w", err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		f.Close()
		return fmt.Errorf("spool: key: %w", err)
	}
	enc, err := age.Encrypt(f, id.Recipient())
	if err != nil {
		f.Close()
		return fmt.Errorf("spool: encrypt: %w", err)
	}
	if _, err := enc.Write(s.mem.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("spool: write: %w", err)
	}
	s.file, s.enc, s.id = f, enc, id
	s.mem = bytes.Buffer{}
	return nil
}

// Size is the number of bytes written.
func (s *Spool) Size() int64 { return s.size }

// Close ends writing.
func (s *Spool) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if s.enc != nil {
		if err := s.enc.Close(); err != nil {
			return fmt.Errorf("spool: finish: %w", err)
		}
	}
	return nil
}

// Reader returns the spooled bytes from the start. Call after Close.
func (s *Spool) Reader() (io.Reader, error) {
	if !s.closed {
		return nil, errors.New("spool: read before close")
	}
	if s.file == nil {
		return bytes.NewReader(s.mem.Bytes()), nil
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("spool: rewind: %w", err)
	}
	r, err := age.Decrypt(s.file, s.id)
	if err != nil {
		return nil, fmt.Errorf("spool: decrypt: %w", err)
	}
	return r, nil
}

// Discard releases the memory and the temporary file.
func (s *Spool) Discard() {
	s.closed = true
	s.mem = bytes.Buffer{}
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
	s.id = nil
}
