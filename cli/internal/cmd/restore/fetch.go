package restore

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/cli/internal/extract"
	"github.com/xvault/xvault/cli/internal/output"
	"github.com/xvault/xvault/sdk"
)

// fetcher downloads a ready restore.
type fetcher struct {
	d        cmdutil.Deps
	hc       *http.Client
	progress bool // a live byte count on stderr
}

// download writes the restore to path, resuming path+".partial" with a
// Range request when one is left from an interrupted run, and checks the
// byte count against the hub's record before renaming it into place.
func (f *fetcher) download(ctx context.Context, r *sdk.Restore, path string) error {
	if r.DownloadURL == "" {
		return cmdutil.WithHint(fmt.Errorf("restore %s has no download link (status %s)", r.ID, r.Status),
			"only a ready, unexpired restore can be downloaded; start a new one with 'xv snapshot restore'")
	}
	partial := path + ".partial"
	out, err := os.OpenFile(partial, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", partial, err)
	}
	defer func() { _ = out.Close() }()
	have, err := out.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if have > r.SizeBytes {
		have = 0
	}
	n, err := f.get(ctx, r, out, have)
	if err != nil {
		return err
	}
	if n != r.SizeBytes {
		return fmt.Errorf("download of restore %s: got %d bytes, the hub recorded %d; run the command again to resume",
			r.ID, n, r.SizeBytes)
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(partial, path)
}

// get fetches from byte offset have on and returns the file's total size.
func (f *fetcher) get(ctx context.Context, r *sdk.Restore, out *os.File, have int64) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.DownloadURL, nil)
	if err != nil {
		return 0, fmt.Errorf("download restore %s: bad link", r.ID)
	}
	if have > 0 && have < r.SizeBytes {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := f.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("download restore %s from %s: %w", r.ID, source(r), errors.Unwrap(err))
	}
	defer func() { _ = resp.Body.Close() }()
	switch resp.StatusCode {
	case http.StatusPartialContent:
	case http.StatusOK, http.StatusRequestedRangeNotSatisfiable:
		have = 0
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("download restore %s: %s refused the resume; delete the .partial file", r.ID, source(r))
		}
	case http.StatusGone:
		return 0, cmdutil.WithHint(fmt.Errorf("download restore %s: the link expired", r.ID), "start a new restore")
	case http.StatusForbidden:
		if r.DownloadVia == sdk.DownloadViaBucket { // S3 answers 403 to an expired presigned URL
			return 0, cmdutil.WithHint(fmt.Errorf("download restore %s: the bucket refused the link (403 Forbidden): it expired or was revoked",
				r.ID), "start a new restore")
		}
		return 0, fmt.Errorf("download restore %s: %s answered %s", r.ID, source(r), resp.Status)
	default:
		return 0, fmt.Errorf("download restore %s: %s answered %s", r.ID, source(r), resp.Status)
	}
	if err := out.Truncate(have); err != nil {
		return 0, err
	}
	if _, err := out.Seek(have, io.SeekStart); err != nil {
		return 0, err
	}
	pw := &progressWriter{w: out, n: have, total: r.SizeBytes, errOut: f.d.IO.ErrOut, on: f.progress}
	_, err = io.Copy(pw, resp.Body)
	pw.done()
	if err != nil {
		return pw.n, fmt.Errorf("download restore %s: %w (run the command again to resume)", r.ID, err)
	}
	return pw.n, nil
}

// source names where a restore is downloaded from, for messages.
func source(r *sdk.Restore) string {
	if r.DownloadVia == sdk.DownloadViaBucket {
		return "the bucket"
	}
	return "its agent"
}

// extractTo downloads the restore to a temporary file and unpacks it into
// dir, refusing entries that would land outside it.
func (f *fetcher) extractTo(ctx context.Context, r *sdk.Restore, dir string) (extract.Stats, error) {
	tmpDir, err := os.MkdirTemp("", "xv-restore-")
	if err != nil {
		return extract.Stats{}, err
	}
	defer func() { _ = os.RemoveAll(tmpDir) }()
	file := filepath.Join(tmpDir, "restore")
	if err := f.download(ctx, r, file); err != nil {
		return extract.Stats{}, err
	}
	return ExtractFile(file, r.Format, dir, nil, func(name, why string) {
		fmt.Fprintf(f.d.IO.ErrOut, "skipped %s: %s\n", name, why)
	})
}

// ExtractFile unpacks a downloaded restore (zip or tar.zst) into dir.
func ExtractFile(file string, format sdk.RestoreFormat, dir string, paths []string, warn func(name, why string)) (extract.Stats, error) {
	in, err := os.Open(file)
	if err != nil {
		return extract.Stats{}, err
	}
	defer func() { _ = in.Close() }()
	opts := extract.Options{Paths: paths, Warn: warn}
	if format == sdk.RestoreTarZst {
		zr, err := zstd.NewReader(in, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return extract.Stats{}, err
		}
		defer zr.Close()
		return extract.Extract(tar.NewReader(zr), dir, opts)
	}
	fi, err := in.Stat()
	if err != nil {
		return extract.Stats{}, err
	}
	src, err := extract.NewZipSource(in, fi.Size())
	if err != nil {
		return extract.Stats{}, err
	}
	return extract.Extract(src, dir, opts)
}

// progressWriter shows "12.3 MiB / 40.0 MiB (30%)" on stderr while on.
type progressWriter struct {
	w        io.Writer
	n, total int64
	errOut   io.Writer
	on       bool
	last     time.Time
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.n += int64(n)
	if p.on && time.Since(p.last) > 200*time.Millisecond {
		p.last = time.Now()
		pct := int64(100)
		if p.total > 0 {
			pct = p.n * 100 / p.total
		}
		fmt.Fprintf(p.errOut, "\r\033[Kdownloading %s / %s (%d%%)", output.Bytes(p.n), output.Bytes(p.total), pct)
	}
	return n, err
}

func (p *progressWriter) done() {
	if p.on {
		fmt.Fprint(p.errOut, "\r\033[K")
	}
}
