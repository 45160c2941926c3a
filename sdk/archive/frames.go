package archive

import (
	"encoding/binary"
	"io"

	"github.com/klauspost/compress/zstd"
)

// The compressed stream of an artifact is a sequence of standard zstd
// frames, which every zstd decoder reads as one stream: frames compressed by
// the encoder, and "stored" frames made of raw blocks for data that does not
// compress (see [Options.CompressAll]) or for [Options.NoCompression].
const (
	zstdMagic = 0xFD2FB528
	// rawBlockMax is the content size of a raw block; the frame's window
	// descriptor declares a 128 KiB window, the largest block size.
	rawBlockMax = 128 << 10
	// rawWindowDescriptor encodes a window of 2^(10+7) = 128 KiB.
	rawWindowDescriptor = 7 << 3
)

// frames writes the tar stream either into the zstd encoder or, while raw
// is on, into stored frames. Switching closes the current frame.
type frames struct {
	dst      io.Writer     // the age stream
	zw       *zstd.Encoder // nil with Options.NoCompression
	raw      rawFrame
	inRaw    bool
	rawBytes int64 // tar bytes stored in raw frames
}

func (f *frames) Write(p []byte) (int, error) {
	if f.inRaw {
		f.rawBytes += int64(len(p))
		return f.raw.Write(p)
	}
	return f.zw.Write(p)
}

// setRaw switches between compressed and stored frames.
func (f *frames) setRaw(on bool) error {
	if on == f.inRaw || f.zw == nil {
		return nil
	}
	f.inRaw = on
	if on {
		if err := f.zw.Close(); err != nil { // ends the compressed frame
			return err
		}
		return f.raw.start(f.dst)
	}
	if err := f.raw.finish(); err != nil {
		return err
	}
	f.zw.Reset(f.dst)
	return nil
}

// close ends the last frame.
func (f *frames) close() error {
	if f.inRaw {
		return f.raw.finish() // the encoder's frame was closed when raw began
	}
	return f.zw.Close()
}

// rawFrame writes one zstd frame of raw blocks: no compression, no CPU
// beyond a copy.
type rawFrame struct {
	w   io.Writer
	buf []byte
}

func (r *rawFrame) start(w io.Writer) error {
	r.w = w
	if r.buf == nil {
		r.buf = make([]byte, 0, rawBlockMax)
	}
	r.buf = r.buf[:0]
	var hdr [6]byte
	binary.LittleEndian.PutUint32(hdr[:4], zstdMagic)
	hdr[4] = 0 // no content size, not single-segment, no checksum, no dictionary
	hdr[5] = rawWindowDescriptor
	_, err := w.Write(hdr[:])
	return err
}

func (r *rawFrame) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(r.buf) == 0 && len(p) >= rawBlockMax {
			if err := r.block(p[:rawBlockMax], false); err != nil {
				return n - len(p), err
			}
			p = p[rawBlockMax:]
			continue
		}
		k := copy(r.buf[len(r.buf):cap(r.buf)], p)
		r.buf, p = r.buf[:len(r.buf)+k], p[k:]
		if len(r.buf) == rawBlockMax {
			if err := r.block(r.buf, false); err != nil {
				return n - len(p), err
			}
			r.buf = r.buf[:0]
		}
	}
	return n, nil
}

// finish writes what is buffered as the last block (possibly empty).
func (r *rawFrame) finish() error {
	err := r.block(r.buf, true)
	r.buf = r.buf[:0]
	return err
}

// block writes a raw block: a 3-byte little-endian header (last flag, type
// 0 = raw, size) and the content.
func (r *rawFrame) block(b []byte, last bool) error {
	h := uint32(len(b)) << 3
	if last {
		h |= 1
	}
	if _, err := r.w.Write([]byte{byte(h), byte(h >> 8), byte(h >> 16)}); err != nil {
		return err
	}
	_, err := r.w.Write(b)
	return err
}
