package archive

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
)

// ErrChecksum is wrapped by the error a [Reader] or [VerifyFile] returns when
// the artifact's sha256 differs from the expected one.
var ErrChecksum = errors.New("artifact sha256 mismatch")

// ReadOptions tunes a [Reader].
type ReadOptions struct {
	// ExpectedSHA256 is the lowercase or uppercase hex sha256 of the whole
	// artifact (Manifest.SHA256). When set, the reader fails at the end of the
	// archive unless the bytes read from src match it. Empty skips the check:
	// age then still authenticates every chunk, but anyone holding the public
	// recipient can produce an artifact that decrypts.
	ExpectedSHA256 string
}

// Reader reads an artifact as a stream of tar entries, like tar.Reader.
// It never reports a clean end (io.EOF from Next) unless the whole artifact
// was consumed and checked: age authentication up to the final chunk, a
// complete zstd stream, the tar end-of-archive marker, nothing but zero
// padding after it, and the sha256 when one is expected. Every header is
// checked with [ValidName] and against the entry types the format allows.
// Directory names are returned without their trailing slash. A Reader is not
// safe for concurrent use.
type Reader struct {
	src      *hashReader
	plain    io.Reader // age plaintext: the zstd stream
	zr       *zstd.Decoder
	tarSrc   *countReader // zstd output: the tar stream
	tarEOF   *eofTracker  // did tar read past the end of the zstd output?
	tr       *tar.Reader
	expected []byte
	res      Result
	err      error // sticky; io.EOF once the artifact checked out
}

// NewReader reads the age header from src and prepares to stream entries.
// An error here means src is no age file or identity cannot open it. The
// caller should Close the Reader when done.
func NewReader(src io.Reader, identity age.Identity, opts ReadOptions) (*Reader, error) {
	if src == nil || identity == nil {
		return nil, errors.New("archive: new reader: source and identity are required")
	}
	expected, err := parseExpected(opts.ExpectedSHA256)
	if err != nil {
		return nil, err
	}
	hr := &hashReader{r: src, h: sha256.New()}
	plain, err := age.Decrypt(bufio.NewReaderSize(hr, ioBufferSize), identity)
	if err != nil {
		return nil, fmt.Errorf("archive: open age file: %w", err)
	}
	return newPlainReader(hr, plain, expected)
}

// newPlainReader builds a Reader over the age plaintext; src may be nil when
// there is no encrypted layer (fuzzing the inner layers).
func newPlainReader(src *hashReader, plain io.Reader, expected []byte) (*Reader, error) {
	zr, err := zstd.NewReader(plain,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(maxReadWindow),
	)
	if err != nil {
		return nil, fmt.Errorf("archive: start zstd decoder: %w", err)
	}
	r := &Reader{src: src, plain: plain, zr: zr, expected: expected}
	r.tarEOF = &eofTracker{r: zr}
	r.tarSrc = &countReader{r: r.tarEOF}
	r.tr = tar.NewReader(r.tarSrc)
	return r, nil
}

func parseExpected(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(strings.ToLower(s))
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("archive: expected sha256 %q is not 64 hex digits", s)
	}
	return b, nil
}

// Next advances to the next entry. It returns io.EOF only after the whole
// artifact was read and checked; any other error is final.
func (r *Reader) Next() (*tar.Header, error) {
	if r.err != nil {
		return nil, r.err
	}
	hdr, err := r.tr.Next()
	if errors.Is(err, io.EOF) {
		r.err = r.finish()
		return nil, r.err
	}
	if err != nil {
		return nil, r.fail(fmt.Errorf("archive: read tar header: %w", err))
	}
	if err := checkHeader(hdr); err != nil {
		return nil, r.fail(fmt.Errorf("archive: hostile or corrupt entry: %w", err))
	}
	hdr.Name = entryName(hdr)
	r.res.Entries++
	if hdr.Typeflag == tar.TypeReg {
		r.res.Files++
		r.res.PlainBytes += hdr.Size
	}
	return hdr, nil
}

// Read reads the body of the current entry; io.EOF marks the end of the body.
func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.tr.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		return n, r.fail(fmt.Errorf("archive: read entry body: %w", err))
	}
	return n, err
}

// Result returns the artifact's description; it is complete once Next has
// returned io.EOF.
func (r *Reader) Result() Result { return r.res }

// Close releases the decompressor. It does not close src.
func (r *Reader) Close() error {
	r.zr.Close()
	if r.err == nil {
		r.err = errors.New("archive: reader closed")
	}
	return nil
}

func (r *Reader) fail(err error) error {
	r.err = err
	r.zr.Close()
	return err
}

// finish runs after the tar end: it drains every layer and checks each one
// ended where it should. It returns io.EOF when all is well.
func (r *Reader) finish() error {
	if r.tarEOF.hitEOF {
		return r.fail(errors.New("archive: tar stream ends without its end-of-archive marker (truncated)"))
	}
	if err := drainZeros(r.tarSrc); err != nil {
		return r.fail(err)
	}
	r.res.TarBytes = r.tarSrc.n
	if n, err := io.Copy(io.Discard, r.plain); err != nil {
		return r.fail(fmt.Errorf("archive: read end of age stream: %w", err))
	} else if n > 0 {
		return r.fail(fmt.Errorf("archive: %d bytes of trailing data after the zstd stream", n))
	}
	if r.src != nil {
		if err := r.checkSource(); err != nil {
			return r.fail(err)
		}
	}
	r.zr.Close()
	return io.EOF
}

// drainZeros reads the rest of the tar stream (and thereby the end of the
// zstd stream): only zero padding may follow the end-of-archive marker.
func drainZeros(src io.Reader) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for _, b := range buf[:n] {
			if b != 0 {
				return errors.New("archive: trailing data after the tar end-of-archive marker")
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("archive: read end of zstd stream: %w", err)
		}
	}
}

// checkSource drains src (age already refuses trailing data, this is belt
// and braces) and compares the sha256.
func (r *Reader) checkSource() error {
	if _, err := io.Copy(io.Discard, r.src); err != nil {
		return fmt.Errorf("archive: read end of artifact: %w", err)
	}
	sum := r.src.h.Sum(nil)
	r.res.StoredBytes = r.src.n
	r.res.SHA256 = hex.EncodeToString(sum)
	if r.expected != nil && subtle.ConstantTimeCompare(sum, r.expected) != 1 {
		return fmt.Errorf("archive: %w: got %s, want %x", ErrChecksum, r.res.SHA256, r.expected)
	}
	return nil
}

// hashReader hashes and counts everything read through it.
type hashReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (h *hashReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// eofTracker records whether its reader reached io.EOF. A read returning
// data together with io.EOF is split in two, so hitEOF is only set when the
// consumer asked for more after the last byte. tar stops reading right after
// its end-of-archive marker; if it reached EOF instead, the marker is missing.
type eofTracker struct {
	r          io.Reader
	pendingEOF bool
	hitEOF     bool
}

func (e *eofTracker) Read(p []byte) (int, error) {
	if e.pendingEOF || e.hitEOF {
		e.hitEOF = true
		return 0, io.EOF
	}
	n, err := e.r.Read(p)
	if errors.Is(err, io.EOF) {
		if n > 0 {
			e.pendingEOF = true
			return n, nil
		}
		e.hitEOF = true
	}
	return n, err
}
