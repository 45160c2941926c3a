package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"math"
)

// Detection of data that does not compress (already compressed media,
// archives, encrypted or random data). A regular file of at least
// detectMinFile bytes is copied in sections of detectSection bytes; the
// byte entropy of the first detectSample bytes of each section is measured
// (a histogram: about 20 µs), and a section whose sample carries more than
// maxEntropyBits bits per byte is stored in raw zstd blocks instead of being
// compressed. Text, code, databases and logs stay far below (2–6 bits);
// compressed or encrypted data is at 7.9–8. Small files always go through
// the encoder: switching frames costs more than it saves on them.
const (
	detectMinFile   = 256 << 10
	detectSection   = 4 << 20
	detectSample    = 32 << 10
	detectMinSample = 4 << 10
	maxEntropyBits  = 7.5
)

// sampler judges samples by their byte entropy.
type sampler struct {
	buf []byte // sample read from the body
}

func newSampler() *sampler { return &sampler{buf: make([]byte, detectSample)} }

// incompressible reports whether b looks like data that does not compress.
func (s *sampler) incompressible(b []byte) bool { return entropy(b) > maxEntropyBits }

// entropy is the Shannon entropy of b's bytes, in bits per byte (0–8).
func entropy(b []byte) float64 {
	if len(b) == 0 {
		return 0
	}
	var counts [256]int
	for _, c := range b {
		counts[c]++
	}
	var h float64
	n := float64(len(b))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// copyDetect copies exactly size bytes of body into the tar, section by
// section, storing the sections that do not compress in raw frames.
func (w *Writer) copyDetect(body io.Reader, name string, size int64) error {
	var done int64
	for done < size {
		section := min(size-done, detectSection)
		sample := w.sampler.buf[:min(section, detectSample)]
		n, err := io.ReadFull(body, sample)
		done += int64(n)
		if err != nil {
			return shortBody(name, done, size, err)
		}
		if n >= detectMinSample {
			if err := w.frames.setRaw(w.sampler.incompressible(sample)); err != nil {
				return fmt.Errorf("archive: add %q: switch frames: %w", name, err)
			}
		}
		if _, err := w.tw.Write(sample); err != nil {
			return fmt.Errorf("archive: add %q: %w", name, err)
		}
		m, err := io.CopyN(w.tw, body, section-int64(n))
		done += m
		if err != nil {
			return shortBody(name, done, size, err)
		}
	}
	if err := w.frames.setRaw(false); err != nil {
		return fmt.Errorf("archive: add %q: switch frames: %w", name, err)
	}
	return bodyEnded(body, name, size)
}

func shortBody(name string, n, size int64, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("archive: add %q: body yielded %d bytes, header says %d", name, n, size)
	}
	return fmt.Errorf("archive: add %q: copy body after %d of %d bytes: %w", name, n, size, err)
}

// bodyEnded checks that body has nothing more to give after size bytes.
func bodyEnded(body io.Reader, name string, size int64) error {
	var one [1]byte
	for {
		k, err := body.Read(one[:])
		if k > 0 {
			return fmt.Errorf("archive: add %q: body yielded more than the %d bytes of its header", name, size)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("archive: add %q: read end of body: %w", name, err)
		}
	}
}

// copyBody copies exactly size bytes of body into tw and checks that body
// has nothing more to give.
func copyBody(tw *tar.Writer, body io.Reader, name string, size int64) error {
	if size == 0 && body == nil {
		return nil
	}
	n, err := io.CopyN(tw, body, size)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("archive: add %q: copy body after %d of %d bytes: %w", name, n, size, err)
	}
	if n < size {
		return fmt.Errorf("archive: add %q: body yielded %d bytes, header says %d", name, n, size)
	}
	return bodyEnded(body, name, size)
}
