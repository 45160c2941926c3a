package archive

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
)

const (
	// WindowSize is the largest zstd window the writer uses (with
	// Options.SerialBlocks; the default, parallel encoder uses 2 MiB); it
	// bounds the memory needed to compress and to decompress an artifact.
	WindowSize = 8 << 20
	// concurrentWindow is the window of the default, parallel encoder: it
	// compresses sections of 4 windows in parallel and holds a few of them
	// per goroutine, so the window bounds its memory.
	concurrentWindow = 2 << 20
	// maxReadWindow is the largest zstd window the reader accepts.
	maxReadWindow = 64 << 20
	// ioBufferSize is the size of the buffered writes to the destination and
	// of the buffered reads from the source.
	ioBufferSize = 1 << 20
)

var errWriterClosed = errors.New("archive writer already closed")

// Options tunes a [Writer]. The zero value is ready to use.
type Options struct {
	// Level is the zstd encoder level; zero means zstd.SpeedDefault.
	Level zstd.EncoderLevel
	// Concurrency is the number of zstd encoder goroutines; zero means 2.
	Concurrency int
	// NoCompression stores the tar in raw zstd blocks: still a zstd stream
	// that any decoder reads, at the cost of a copy.
	NoCompression bool
	// CompressAll turns off the detection of incompressible data (see
	// detect.go): every byte then goes through the encoder.
	CompressAll bool
	// SerialBlocks turns off the parallel compression of sections: by
	// default the encoder compresses sections of 8 MiB on Concurrency
	// goroutines at once (klauspost's WithConcurrentBlocks) with a 2 MiB
	// window, which bounds the memory this takes (see docs/performance.md);
	// with SerialBlocks it compresses one 128 KiB block at a time, ahead of
	// the writer, with an 8 MiB window.
	SerialBlocks bool
}

func (o Options) withDefaults() Options {
	if o.Level == 0 {
		o.Level = zstd.SpeedDefault
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 2
	}
	return o
}

// LevelName is the name of the compression effort as the manifest records
// it: "none", or the zstd level's name (fastest, default, better, best).
func (o Options) LevelName() string {
	if o.NoCompression {
		return "none"
	}
	return o.withDefaults().Level.String()
}

// ParseCompression maps a source's compression setting ("", fastest,
// default, better, none) onto writer options.
func ParseCompression(name string) (Options, error) {
	switch name {
	case "", "default":
		return Options{Level: zstd.SpeedDefault}, nil
	case "fastest":
		return Options{Level: zstd.SpeedFastest}, nil
	case "better":
		return Options{Level: zstd.SpeedBetterCompression}, nil
	case "none":
		return Options{NoCompression: true}, nil
	}
	return Options{}, fmt.Errorf("archive: compression %q must be fastest, default, better or none", name)
}

// Result describes a finished artifact.
type Result struct {
	Entries     int64  // tar entries of any type
	Files       int64  // regular files
	PlainBytes  int64  // sum of the regular files' contents
	TarBytes    int64  // size of the tar stream (before compression)
	StoredBytes int64  // size of the artifact (after encryption)
	SHA256      string // lowercase hex sha256 of the artifact bytes
}

// Writer builds an artifact in one streaming pass:
// tar (PAX) → zstd → age → sha256 and byte count → buffered destination.
// Memory use is bounded by the zstd window and the buffers, whatever the
// amount of data. A Writer is not safe for concurrent use.
type Writer struct {
	tw      *tar.Writer
	tarCnt  *countWriter
	frames  *frames
	sampler *sampler // nil: no detection of incompressible data
	aw      io.WriteCloser
	buf     *bufio.Writer
	out     *countWriter
	sum     hash.Hash
	res     Result
	err     error // sticky: the first failure poisons the writer
	closed  bool
}

// NewWriter starts an artifact encrypted to recipient, written to dst.
// The caller must call Close, also after an error from Add: Close flushes the
// artifact and releases the compressor. Close does not close dst.
func NewWriter(dst io.Writer, recipient age.Recipient, opts Options) (*Writer, error) {
	if dst == nil || recipient == nil {
		return nil, errors.New("archive: new writer: destination and recipient are required")
	}
	opts = opts.withDefaults()
	w := &Writer{sum: sha256.New()}
	w.buf = bufio.NewWriterSize(dst, ioBufferSize)
	w.out = &countWriter{w: io.MultiWriter(w.sum, w.buf)}
	aw, err := age.Encrypt(w.out, recipient)
	if err != nil {
		return nil, fmt.Errorf("archive: start age encryption: %w", err)
	}
	w.aw = aw
	w.frames = &frames{dst: aw}
	if opts.NoCompression {
		w.frames.inRaw = true
		if err := w.frames.raw.start(aw); err != nil {
			return nil, fmt.Errorf("archive: start stored frame: %w", err)
		}
	} else if err := w.startEncoder(opts); err != nil {
		return nil, err
	}
	w.tarCnt = &countWriter{w: w.frames}
	w.tw = tar.NewWriter(w.tarCnt)
	return w, nil
}

func (w *Writer) startEncoder(opts Options) error {
	window := concurrentWindow
	if opts.SerialBlocks {
		window = WindowSize
	}
	zw, err := zstd.NewWriter(w.aw,
		zstd.WithEncoderLevel(opts.Level),
		zstd.WithEncoderConcurrency(opts.Concurrency),
		zstd.WithWindowSize(window),
		zstd.WithEncoderCRC(true),
		zstd.WithConcurrentBlocks(!opts.SerialBlocks),
	)
	if err != nil {
		return fmt.Errorf("archive: start zstd encoder: %w", err)
	}
	w.frames.zw = zw
	if !opts.CompressAll {
		w.sampler = newSampler()
	}
	return nil
}

// release stops the encoders' goroutines after a failure.
func (w *Writer) release() {
	if w.frames.zw != nil {
		_ = w.frames.zw.Close()
	}
}

// Add appends one entry. hdr.Name must pass [ValidName] (a directory may end
// in "/", which the writer adds when missing); hdr is copied, not modified.
// For a regular file (tar.TypeReg) body is read to its end and must yield
// exactly hdr.Size bytes; for other types body is ignored and may be nil.
// After an error the Writer is unusable: every later call returns it.
func (w *Writer) Add(hdr *tar.Header, body io.Reader) error {
	if w.closed {
		return errWriterClosed
	}
	if w.err != nil {
		return w.err
	}
	if err := w.add(hdr, body); err != nil {
		w.err = err
		return err
	}
	return nil
}

func (w *Writer) add(hdr *tar.Header, body io.Reader) error {
	if hdr == nil {
		return errors.New("archive: add: nil header")
	}
	h := *hdr
	h.Format = tar.FormatPAX
	if err := checkHeader(&h); err != nil {
		return fmt.Errorf("archive: add: %w", err)
	}
	if h.Typeflag == tar.TypeDir {
		h.Name = entryName(&h) + "/"
	}
	if h.Typeflag == tar.TypeReg && body == nil && h.Size != 0 {
		return fmt.Errorf("archive: add %q: nil body for %d bytes", h.Name, h.Size)
	}
	if err := w.tw.WriteHeader(&h); err != nil {
		return fmt.Errorf("archive: add %q: write tar header: %w", h.Name, err)
	}
	w.res.Entries++
	if h.Typeflag != tar.TypeReg {
		return nil
	}
	copyFn := copyBody
	if w.sampler != nil && h.Size >= detectMinFile && body != nil {
		copyFn = func(_ *tar.Writer, body io.Reader, name string, size int64) error {
			return w.copyDetect(body, name, size)
		}
	}
	if err := copyFn(w.tw, body, h.Name, h.Size); err != nil {
		return err
	}
	w.res.Files++
	w.res.PlainBytes += h.Size
	return nil
}

// Close finishes the tar, zstd and age streams, flushes the buffered output
// to dst and returns the artifact's description. It does not close dst. If
// an earlier Add failed, Close releases the resources and returns that error;
// the bytes already written to dst are then not a valid artifact.
func (w *Writer) Close() (Result, error) {
	if w.closed {
		return Result{}, errWriterClosed
	}
	w.closed = true
	if w.err != nil {
		w.release() // the artifact is void anyway
		return Result{}, w.err
	}
	steps := []struct {
		what string
		fn   func() error
	}{
		{"finish tar", w.tw.Close},
		{"finish zstd", w.frames.close},
		{"finish age", w.aw.Close},
		{"flush output", w.buf.Flush},
	}
	for _, s := range steps {
		if err := s.fn(); err != nil {
			w.err = fmt.Errorf("archive: close: %s: %w", s.what, err)
			w.release()
			return Result{}, w.err
		}
	}
	w.res.TarBytes = w.tarCnt.n
	w.res.StoredBytes = w.out.n
	w.res.SHA256 = hex.EncodeToString(w.sum.Sum(nil))
	return w.res, nil
}

// RawBytes is how many bytes of the tar stream were stored in raw zstd
// blocks (not compressed) so far: data found incompressible, or everything
// with Options.NoCompression.
func (w *Writer) RawBytes() int64 { return w.frames.rawBytes }

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
