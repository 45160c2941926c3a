package sshexec

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Limits of the listing framing. Linux names are at most 255 bytes and
// link targets 4095; these bounds only stop a hostile server.
const (
	maxListField = 16 << 10
	maxListPath  = 64 << 10
)

// errFraming marks a listing that does not follow the framing.
var errFraming = errors.New("malformed listing")

// fieldReader reads the NUL-terminated fields of a listing.
type fieldReader struct {
	br *bufio.Reader
}

// field returns the next field without its NUL. The slice is valid until
// the next call.
func (r *fieldReader) field() ([]byte, error) {
	b, err := r.br.ReadSlice(0)
	switch {
	case err == nil:
		if len(b) > maxListField+1 {
			return nil, fmt.Errorf("%w: a field of %d bytes", errFraming, len(b)-1)
		}
		return b[:len(b)-1], nil
	case errors.Is(err, bufio.ErrBufferFull):
		return nil, fmt.Errorf("%w: a field longer than %d bytes", errFraming, len(b))
	case errors.Is(err, io.EOF):
		if len(b) == 0 {
			return nil, fmt.Errorf("%w: the output ended early", errFraming)
		}
		return nil, fmt.Errorf("%w: the output ended inside a field", errFraming)
	}
	return nil, fmt.Errorf("read the listing: %w", err)
}

// banner is what the listing script prints first.
type banner struct {
	tarVersion  string // up to 3 lines of `tar --version` (stdout and stderr)
	findVersion string // the first line of `find --version`
	start       time.Time
}

// readBanner reads the banner, the versions and the server clock.
func readBanner(r *fieldReader) (banner, error) {
	var bn banner
	if b, err := r.br.Peek(len(listingBanner) + 1); string(b) != listingBanner+"\x00" {
		if len(b) == 0 && err != nil {
			return bn, fmt.Errorf("listing banner: %w: the output ended early", errFraming)
		}
		got, _ := r.br.Peek(80)
		return bn, fmt.Errorf("listing banner: %w: expected %q, got %q", errFraming, listingBanner, got)
	}
	_, _ = r.br.Discard(len(listingBanner) + 1)
	var b []byte
	var err error
	for _, dst := range []*string{&bn.tarVersion, &bn.findVersion} {
		if b, err = r.field(); err != nil {
			return bn, fmt.Errorf("listing banner: %w", err)
		}
		*dst = string(b)
	}
	if b, err = r.field(); err != nil {
		return bn, fmt.Errorf("listing banner: %w", err)
	}
	sec, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || !isDecimal(b) || len(b) > 19 {
		return bn, fmt.Errorf("listing banner: %w: server clock %q is not a number of seconds", errFraming, truncate(string(b), 40))
	}
	bn.start = time.Unix(sec, 0)
	return bn, nil
}

// isDecimal: ASCII digits, at least one, an optional leading "-".
func isDecimal(b []byte) bool {
	return digits(bytes.TrimPrefix(b, []byte("-")))
}

// digits: ASCII digits, at least one.
func digits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseUint parses ASCII digits only (no sign, no spaces, no "0x") in
// base 8 or 10 into a value of at most bits bits.
func parseUint(b []byte, base uint64, bits int) (uint64, error) {
	limit := uint64(1)<<bits - 1
	if bits == 64 {
		limit = ^uint64(0)
	}
	var v uint64
	for _, c := range b {
		d := uint64(c) - '0'
		if d >= base || v > (limit-d)/base {
			return 0, notA(b, "number")
		}
		v = v*base + d
	}
	if len(b) == 0 {
		return 0, notA(b, "number")
	}
	return v, nil
}

func notA(b []byte, what string) error {
	return fmt.Errorf("%q is not a %s", truncate(string(b), 40), what)
}

// parseFindTime parses find's %T@/%C@ ("1700000000.1234567890",
// "-315619200.2500000000": the value is negative as a whole) into ns since
// the epoch, keeping 9 fraction digits.
func parseFindTime(b []byte) (int64, error) {
	in := b
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	secPart, frac, dot := bytes.Cut(b, []byte("."))
	if len(secPart) > 11 || !digits(secPart) || dot && !digits(frac) {
		return 0, notA(in, "time")
	}
	sec, _ := parseUint(secPart, 10, 63) // ≤ 11 digits: fits
	if sec > 9_223_372_035 {
		return 0, notA(in, "time")
	}
	ns := int64(sec) * 1e9
	scale := int64(1e8)
	for i := 0; i < len(frac) && i < 9; i++ {
		ns += int64(frac[i]-'0') * scale
		scale /= 10
	}
	if neg {
		ns = -ns
	}
	return ns, nil
}
