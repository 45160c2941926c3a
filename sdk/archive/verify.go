package archive

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
)

// VerifyFile checks the artifact read from r and describes it.
//
// With a nil identity it only parses the age header and compares the sha256
// of all bytes with expectedSHA256; the Result then has StoredBytes and
// SHA256 only. With an identity it also decrypts, decompresses and walks the
// whole tar (every check of [Reader]) and fills the whole Result.
// An empty expectedSHA256 skips the comparison. ctx is checked between reads.
func VerifyFile(ctx context.Context, r io.Reader, identity age.Identity, expectedSHA256 string) (Result, error) {
	if identity == nil {
		return verifyOuter(ctx, r, expectedSHA256)
	}
	rd, err := NewReader(&ctxReader{ctx: ctx, r: r}, identity, ReadOptions{ExpectedSHA256: expectedSHA256})
	if err != nil {
		return Result{}, fmt.Errorf("verify: %w", err)
	}
	defer func() { _ = rd.Close() }()
	for {
		if _, err := rd.Next(); errors.Is(err, io.EOF) {
			return rd.Result(), nil
		} else if err != nil {
			return Result{}, fmt.Errorf("verify: %w", err)
		}
		if _, err := io.Copy(io.Discard, rd); err != nil {
			return Result{}, fmt.Errorf("verify: %w", err)
		}
	}
}

func verifyOuter(ctx context.Context, r io.Reader, expectedSHA256 string) (Result, error) {
	expected, err := parseExpected(expectedSHA256)
	if err != nil {
		return Result{}, fmt.Errorf("verify: %w", err)
	}
	hr := &hashReader{r: &ctxReader{ctx: ctx, r: r}, h: sha256.New()}
	br := bufio.NewReaderSize(hr, ioBufferSize)
	if _, err := age.ExtractHeader(br); err != nil {
		return Result{}, fmt.Errorf("verify: parse age header: %w", err)
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return Result{}, fmt.Errorf("verify: read artifact: %w", err)
	}
	res := Result{StoredBytes: hr.n, SHA256: hex.EncodeToString(hr.h.Sum(nil))}
	if expected != nil && subtle.ConstantTimeCompare(hr.h.Sum(nil), expected) != 1 {
		return res, fmt.Errorf("verify: %w: got %s, want %x", ErrChecksum, res.SHA256, expected)
	}
	return res, nil
}

// ctxReader fails reads once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, fmt.Errorf("read artifact: %w", err)
	}
	return c.r.Read(p)
}
