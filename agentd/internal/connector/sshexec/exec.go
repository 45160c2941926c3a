package sshexec

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/sshconn"
)

// Options is what Pull needs.
type Options struct {
	Tar     Tar      // from Probe
	Paths   []string // absolute, clean remote paths
	Exclude []string // validated path.Match patterns
	Logger  *slog.Logger
}

const (
	readBufferSize = 256 << 10
	maxStderrLines = 200
	maxStderrLine  = 1 << 10
	// maxTrailer bounds what is read after the end-of-archive marker (tar
	// pads its output to a 10 KiB record).
	maxTrailer = 1 << 20
)

// Pull archives every configured root: the parents of each root first, once
// each and as directories (one tar run for all of them), then one tar run per
// root, in the order of the SFTP transfer. Cancelling ctx closes the channels.
func Pull(ctx context.Context, client *ssh.Client, sink connector.Sink, o Options) error {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var roots []string
	for _, r := range sshconn.NormaliseRoots(o.Paths) {
		if r == "/" || !sshconn.Excluded(o.Exclude, r) {
			roots = append(roots, r)
		}
	}
	parents, err := fetchParents(ctx, client, o.Tar, roots)
	if err != nil {
		return err
	}
	emitted := map[string]bool{}
	for _, r := range roots {
		for _, d := range sshconn.Parents(r) {
			if emitted[d] {
				continue
			}
			emitted[d] = true
			if err := sink.Put(parents[d], eof{}); err != nil {
				return fmt.Errorf("archive %s: %w", d, err)
			}
		}
		cmd := o.Tar.Command(r, o.Exclude)
		log.Debug("remote tar", "root", r, "flavour", o.Tar.Flavour.String())
		s := newRootStream(r, o.Exclude, sink)
		if err := run(ctx, client, cmd, o.Tar, r, sink, s.read); err != nil {
			return err
		}
		if !s.sawRoot {
			return fmt.Errorf("configured path %s: the remote tar did not archive it (see the warnings: does it exist?)", r)
		}
	}
	return nil
}

// fetchParents archives the parents of all roots in one tar run and returns
// their entries by remote path. Each must be a directory.
func fetchParents(ctx context.Context, client *ssh.Client, t Tar, roots []string) (map[string]connector.Entry, error) {
	want := map[string]bool{}
	for _, r := range roots {
		for _, d := range sshconn.Parents(r) {
			want[d] = true
		}
	}
	got := map[string]connector.Entry{}
	if len(want) == 0 {
		return got, nil
	}
	dirs := slices.Sorted(func(yield func(string) bool) {
		for d := range want {
			if !yield(d) {
				return
			}
		}
	})
	read := func(ctx context.Context, r io.Reader) error { return readParents(r, want, got) }
	if err := run(ctx, client, t.ParentsCommand(dirs), t, "/", discardWarnings{}, read); err != nil {
		return nil, fmt.Errorf("parents of the configured paths: %w", err)
	}
	for _, d := range dirs {
		if _, ok := got[d]; !ok {
			return nil, fmt.Errorf("stat %s (parent of a configured path): the remote tar did not archive it", d)
		}
	}
	return got, nil
}

// readParents reads the stream of ParentsCommand: only the asked-for
// directories, each once.
func readParents(r io.Reader, want map[string]bool, got map[string]connector.Entry) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("remote tar stream: %w", err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		full := "/" + strings.TrimSuffix(hdr.Name, "/")
		if !want[full] || hdr.Name != strings.TrimPrefix(full, "/")+"/" && hdr.Name != strings.TrimPrefix(full, "/") {
			return fmt.Errorf("remote tar stream: entry %q was not asked for", hdr.Name)
		}
		if hdr.Typeflag != tar.TypeDir {
			return fmt.Errorf("%s (parent of a configured path) is not a directory", full)
		}
		e, _, err := entryOf(hdr, full)
		if err != nil {
			return err
		}
		got[full] = e
	}
}

// run runs one tar command, hands its stdout to read, and judges the exit
// status: 0 is success, 1 from GNU tar a success with warnings (files that
// changed or vanished while read), anything else a failure quoting stderr.
// tar's stderr lines become warnings on path.
func run(ctx context.Context, client *ssh.Client, cmd string, t Tar, path string, sink connector.Sink,
	read func(context.Context, io.Reader) error) error {
	sess, err := client.NewSession()
	if err != nil {
		return fmt.Errorf("open an exec channel: %w", err)
	}
	defer sess.Close()
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return fmt.Errorf("exec channel: %w", err)
	}
	stderr := &lineBuffer{}
	sess.Stderr = stderr
	if err := sess.Start(cmd); err != nil {
		return fmt.Errorf("start remote tar: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = sess.Close() })
	defer stop()
	br := bufio.NewReaderSize(stdout, readBufferSize)
	if err := read(ctx, br); err != nil {
		_ = sess.Close() // stops tar (SIGPIPE) and unblocks Wait
		_ = sess.Wait()
		return errors.Join(ctx.Err(), err)
	}
	if n, _ := io.CopyN(io.Discard, br, maxTrailer+1); n > maxTrailer {
		_ = sess.Close()
		return errors.New("remote tar stream: more than 1 MiB of data after the end of the archive")
	}
	err = sess.Wait()
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return judge(err, t, path, stderr.lines(), sink)
}

func judge(err error, t Tar, path string, lines []string, sink connector.Sink) error {
	var exit *ssh.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitStatus() == 1 && t.Flavour == GNU:
	case errors.As(err, &exit):
		return fmt.Errorf("remote tar failed with exit status %d: %s", exit.ExitStatus(), tail(lines, 5))
	default:
		return fmt.Errorf("remote tar: %w: %s", err, tail(lines, 5))
	}
	for _, l := range lines {
		sink.Warn(path, errors.New(strings.TrimPrefix(l, "tar: ")))
	}
	return nil
}

func tail(lines []string, n int) string {
	if len(lines) == 0 {
		return "(no message on stderr)"
	}
	return strings.Join(lines[max(0, len(lines)-n):], "; ")
}

// lineBuffer collects stderr lines, at most maxStderrLines of at most
// maxStderrLine bytes; it counts the lines it drops.
type lineBuffer struct {
	partial []byte
	kept    []string
	dropped int
}

func (b *lineBuffer) Write(p []byte) (int, error) {
	for _, c := range p {
		if c != '\n' {
			if len(b.partial) < maxStderrLine {
				b.partial = append(b.partial, c)
			}
			continue
		}
		b.add()
	}
	return len(p), nil
}

func (b *lineBuffer) add() {
	line := strings.TrimSpace(strings.ToValidUTF8(string(b.partial), "?"))
	b.partial = b.partial[:0]
	switch {
	case line == "":
	case len(b.kept) < maxStderrLines:
		b.kept = append(b.kept, line)
	default:
		b.dropped++
	}
}

func (b *lineBuffer) lines() []string {
	if len(b.partial) > 0 {
		b.add()
	}
	out := slices.Clone(b.kept)
	if b.dropped > 0 {
		out = append(out, fmt.Sprintf("… and %d more lines", b.dropped))
	}
	return out
}

// discardWarnings is the sink of the parents' run: their tar says nothing
// worth a job warning that would not fail the run.
type discardWarnings struct{ connector.Sink }

func (discardWarnings) Warn(string, error) {}
