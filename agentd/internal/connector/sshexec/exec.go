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

// Pull archives every configured root, each with one tar run on its own
// exec channel, in the order of the SFTP transfer. The first run also
// archives the parents of all roots (ParentsCommand, then "; ", then the
// root's Command: two archives one after the other on stdout), so that a
// pull of one root costs one session besides the probe. Each root's tar is
// started while the previous one is read. Cancelling ctx closes the channels.
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
	dirs := parentDirs(roots)
	ahead := make([]*remoteTar, len(roots)+1)
	defer func() {
		for _, r := range ahead {
			if r != nil {
				_ = r.sess.Close()
			}
		}
	}()
	start := func(i int) (err error) {
		if i >= len(roots) {
			return nil
		}
		cmd := o.Tar.Command(roots[i], o.Exclude)
		if i == 0 && len(dirs) > 0 {
			cmd = o.Tar.ParentsCommand(dirs) + " ; " + cmd
		}
		ahead[i], err = startTar(client, cmd)
		return err
	}
	if err := start(0); err != nil {
		return err
	}
	parents := map[string]connector.Entry{}
	emitted := map[string]bool{}
	for i, r := range roots {
		if err := start(i + 1); err != nil {
			return err
		}
		log.Debug("remote tar", "root", r, "flavour", o.Tar.Flavour.String())
		s := newRootStream(r, o.Exclude, sink)
		read := func(ctx context.Context, br *bufio.Reader) error {
			if i == 0 && len(dirs) > 0 {
				if err := readParents(br, dirs, parents); err != nil {
					return fmt.Errorf("parents of the configured paths: %w", err)
				}
			}
			if err := emitParents(sink, parents, emitted, r); err != nil {
				return err
			}
			return s.read(ctx, br)
		}
		rt := ahead[i]
		ahead[i] = nil
		if err := rt.finish(ctx, o.Tar, r, sink, read); err != nil {
			return err
		}
		if !s.sawRoot {
			return fmt.Errorf("configured path %s: the remote tar did not archive it (see the warnings: does it exist?)", r)
		}
	}
	return nil
}

// parentDirs lists the parents of all roots, sorted, once each.
func parentDirs(roots []string) []string {
	var dirs []string
	for _, r := range roots {
		dirs = append(dirs, sshconn.Parents(r)...)
	}
	slices.Sort(dirs)
	return slices.Compact(dirs)
}

// emitParents emits the parents of root r not emitted yet.
func emitParents(sink connector.Sink, parents map[string]connector.Entry, emitted map[string]bool, r string) error {
	for _, d := range sshconn.Parents(r) {
		if emitted[d] {
			continue
		}
		emitted[d] = true
		if err := sink.Put(parents[d], eof{}); err != nil {
			return fmt.Errorf("archive %s: %w", d, err)
		}
	}
	return nil
}

// readParents reads the archive of ParentsCommand: exactly the asked-for
// directories (following symlinks), each a directory; then it skips the
// archive's zero padding, up to the next archive.
func readParents(br *bufio.Reader, dirs []string, got map[string]connector.Entry) error {
	tr := tar.NewReader(br)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("remote tar stream: %w", err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		full := "/" + strings.TrimSuffix(hdr.Name, "/")
		if _, ok := slices.BinarySearch(dirs, full); !ok || strings.TrimPrefix(full, "/") != strings.TrimSuffix(hdr.Name, "/") {
			return fmt.Errorf("remote tar stream: entry %q was not asked for", hdr.Name)
		}
		if hdr.Typeflag != tar.TypeDir {
			return fmt.Errorf("%s (parent of a configured path) is not a directory", full)
		}
		if got[full], _, err = entryOf(hdr, full); err != nil {
			return err
		}
	}
	for _, d := range dirs {
		if _, ok := got[d]; !ok {
			return fmt.Errorf("stat %s (parent of a configured path): the remote tar did not archive it", d)
		}
	}
	return skipPadding(br)
}

// skipPadding discards the zero blocks that end an archive (tar pads its
// output to a record of 10 KiB), up to the first byte of the next one.
func skipPadding(br *bufio.Reader) error {
	for {
		b, err := br.Peek(512)
		if len(b) == 0 || errors.Is(err, io.EOF) && len(b) < 512 {
			return nil // the next archive is empty or missing: its reader says so
		}
		if err != nil {
			return fmt.Errorf("remote tar stream: %w", err)
		}
		if !allZero(b) {
			return nil
		}
		_, _ = br.Discard(512)
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// remoteTar is a started tar command.
type remoteTar struct {
	sess   *ssh.Session
	stdout io.Reader
	stderr *lineBuffer
}

// startTar opens an exec channel and starts cmd. Starting the next command
// before the current one is read overlaps the session setup (the login
// shell and its rc files) with the transfer.
func startTar(client *ssh.Client, cmd string) (*remoteTar, error) {
	sess, err := client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("open an exec channel: %w", err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		_ = sess.Close()
		return nil, fmt.Errorf("exec channel: %w", err)
	}
	r := &remoteTar{sess: sess, stdout: stdout, stderr: &lineBuffer{}}
	sess.Stderr = r.stderr
	if err := sess.Start(cmd); err != nil {
		_ = sess.Close()
		return nil, fmt.Errorf("start remote tar: %w", err)
	}
	return r, nil
}

// finish hands the command's stdout to read and judges the exit status: 0
// is success, 1 from GNU tar a success with warnings (files that changed or
// vanished while read), anything else a failure quoting stderr. tar's
// stderr lines become warnings on path.
func (r *remoteTar) finish(ctx context.Context, t Tar, path string, sink connector.Sink,
	read func(context.Context, *bufio.Reader) error) error {
	defer r.sess.Close()
	stop := context.AfterFunc(ctx, func() { _ = r.sess.Close() })
	defer stop()
	br := bufio.NewReaderSize(r.stdout, readBufferSize)
	if err := read(ctx, br); err != nil {
		_ = r.sess.Close() // stops tar (SIGPIPE) and unblocks Wait
		_ = r.sess.Wait()
		return errors.Join(ctx.Err(), err)
	}
	if n, _ := io.CopyN(io.Discard, br, maxTrailer+1); n > maxTrailer {
		return errors.New("remote tar stream: more than 1 MiB of data after the end of the archive")
	}
	err := r.sess.Wait()
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return judge(err, t, path, r.stderr.lines(), sink)
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
		if msg, ok := strings.CutPrefix(l, "tar: "); ok {
			sink.Warn(path, errors.New(msg))
			continue
		}
		// Not tar's: the login shell's rc files or the server's profile
		// said something. Worth showing, but not about path.
		sink.Warn(ShellOutput, fmt.Errorf("the remote shell wrote on stderr: %s", l))
	}
	return nil
}

// ShellOutput is the path of a warning that quotes stderr of the remote
// session which did not come from tar (rc-file or profile noise).
const ShellOutput = "(remote shell)"

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
