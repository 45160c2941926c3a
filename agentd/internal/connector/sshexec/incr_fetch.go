package sshexec

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/xvault/xvault/sdk/archive"
)

// Request sends the files to fetch (record paths: regular files of size >
// 0, in listing order) to the session's tar as "./"+path, NUL-terminated,
// and closes its stdin. An empty list gives an empty archive. The names are
// written by a goroutine: tar reads them while the caller reads the stream
// with Next.
func (l *Listing) Request(paths []string) error {
	if !l.listed || l.requested {
		return errors.New("listing: Request must follow Records, once")
	}
	l.requested = true
	l.wantIdx = make(map[string]int, len(paths))
	for i, p := range paths {
		if err := archive.ValidName(p); err != nil {
			return fmt.Errorf("request %q: %w", p, err)
		}
		if _, dup := l.wantIdx[p]; dup {
			return fmt.Errorf("request %q: asked for twice", p)
		}
		l.wantIdx[p] = i
	}
	l.want = paths
	l.tr = tar.NewReader(l.br)
	go func() {
		bw := bufio.NewWriterSize(l.stdin, 64<<10)
		for _, p := range paths {
			_, _ = bw.WriteString("./")
			_, _ = bw.WriteString(p)
			_ = bw.WriteByte(0)
		}
		err := bw.Flush()
		l.writeErr <- errors.Join(err, l.stdin.Close())
	}()
	return nil
}

// Next returns the next file of the tar stream: its record path, header and
// body (valid until the next call). Each entry must be a requested name, in
// the requested order, at most once; anything else fails. vanished lists
// the requested names tar skipped before this entry (gone or unreadable
// since the listing) and those whose entry is no longer a regular file
// (replaced by a directory, a symlink; a hard link from bsdtar: warned,
// not stored): the caller emits corrections for them. At the end of the
// stream Next returns io.EOF, with the names still missing in vanished.
func (l *Listing) Next() (string, *tar.Header, io.Reader, []string, error) {
	if l.tr == nil || l.ended {
		return "", nil, nil, nil, errors.New("listing: Next must follow Request, until io.EOF")
	}
	var vanished []string
	for {
		hdr, err := l.tr.Next()
		if errors.Is(err, io.EOF) {
			vanished = append(vanished, l.want[l.next:]...)
			l.vanished += len(l.want) - l.next
			l.next, l.ended = len(l.want), true
			return "", nil, nil, vanished, io.EOF
		}
		if err != nil {
			return "", nil, nil, nil, l.streamError(err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		name, err := l.place(hdr)
		if err != nil {
			return "", nil, nil, nil, err
		}
		vanished = append(vanished, l.want[l.next:l.wantIdx[name]]...)
		l.vanished += l.wantIdx[name] - l.next
		l.next = l.wantIdx[name] + 1
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse:
			return name, hdr, l.tr, vanished, nil
		}
		l.warns = append(l.warns, Warning{Path: "/" + name, Err: fmt.Errorf("not stored: %s since the listing", replacedBy(hdr))})
		vanished = append(vanished, name)
		l.vanished++
	}
}

func (l *Listing) streamError(err error) error {
	if ctxErr := l.ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if l.last == "" {
		return fmt.Errorf("remote tar stream of the changed files: read the first entry: %w", err)
	}
	return fmt.Errorf("remote tar stream of the changed files: read the entry after %q: %w", l.last, err)
}

// place validates an entry's name and checks that it is the next requested
// one or a later one, never an earlier one or one not asked for.
func (l *Listing) place(hdr *tar.Header) (string, error) {
	l.last = hdr.Name
	name := strings.TrimPrefix(hdr.Name, "./")
	if hdr.Typeflag == tar.TypeDir {
		name = strings.TrimSuffix(name, "/")
	}
	if err := archive.ValidName(name); err != nil {
		return "", fmt.Errorf("remote tar stream of the changed files: entry %q: %w", hdr.Name, err)
	}
	i, ok := l.wantIdx[name]
	switch {
	case !ok:
		return "", fmt.Errorf("remote tar stream of the changed files: entry %q was not requested", hdr.Name)
	case i < l.next:
		return "", fmt.Errorf("remote tar stream of the changed files: entry %q out of order or repeated", hdr.Name)
	}
	return name, nil
}

func replacedBy(hdr *tar.Header) string {
	switch hdr.Typeflag {
	case tar.TypeDir:
		return "replaced by a directory"
	case tar.TypeSymlink:
		return "replaced by a symlink"
	case tar.TypeLink:
		return fmt.Sprintf("archived as a hard link to %q (this server's tar cannot archive hard links as files)", hdr.Linkname)
	case tar.TypeFifo:
		return "replaced by a named pipe"
	}
	return fmt.Sprintf("replaced by an entry of tar type %q", hdr.Typeflag)
}

// Wait reads what follows the tar stream, waits for the session's end and
// judges it: exit status 0 is success; 1 is success with warnings from GNU
// tar (files changed or vanished while read), and from bsdtar when
// requested files vanished (bsdtar has no --ignore-failed-read); anything
// else fails quoting stderr. The warnings are the stream's (replaced
// entries) and every stderr line (find's unreadable directories, tar's
// vanished files).
func (l *Listing) Wait() ([]Warning, error) {
	if !l.ended || l.waited {
		return nil, errors.New("listing: Wait must follow the io.EOF of Next, once")
	}
	if n, _ := io.CopyN(io.Discard, l.br, maxTrailer+1); n > maxTrailer {
		l.Close()
		return nil, errors.New("remote tar stream: more than 1 MiB of data after the end of the archive")
	}
	err := l.sess.Wait()
	l.waited = true
	l.stop()
	if ctxErr := l.ctx.Err(); ctxErr != nil {
		return nil, ctxErr
	}
	werr := <-l.writeErr
	lines := l.stderr.lines()
	if jerr := l.judge(err, lines); jerr != nil {
		return nil, jerr
	}
	if werr != nil {
		return nil, fmt.Errorf("send the names to the remote tar: %w", werr)
	}
	warns := l.warns
	for _, s := range lines {
		warns = append(warns, Warning{Path: l.warnPath(s), Err: errors.New(trimTool(s))})
	}
	return warns, nil
}

func (l *Listing) judge(err error, lines []string) error {
	var exit *ssh.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exit) && exit.ExitStatus() == 1 && (l.tar.Flavour == GNU || l.tar.Flavour == BSD && l.vanished > 0):
		return nil
	case errors.As(err, &exit):
		return fmt.Errorf("remote tar failed with exit status %d: %s", exit.ExitStatus(), tail(lines, 5))
	}
	return fmt.Errorf("remote listing session: %w: %s", err, tail(lines, 5))
}

// trimTool drops tar's program name from a stderr line; find's is kept.
func trimTool(s string) string {
	for _, p := range []string{"tar: ", "bsdtar: "} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			return rest
		}
	}
	return s
}

// warnPath is the remote path a stderr line is about: the path it names
// when it lies inside a root (tar: when it is a requested name), else the
// first root.
func (l *Listing) warnPath(s string) string {
	var p string
	if rest, ok := strings.CutPrefix(s, "find: '"); ok {
		p, _, _ = strings.Cut(rest, "': ")
	} else if rest, ok := strings.CutPrefix(trimTool(s), "./"); ok {
		name, _, _ := strings.Cut(rest, ": ")
		if _, asked := l.wantIdx[name]; asked { // tar quotes odd names: only a requested one is sure
			p = "/" + name
		}
	}
	for _, r := range l.roots {
		if p != "" && inside(p, r) {
			return p
		}
	}
	if len(l.roots) > 0 {
		return l.roots[0]
	}
	return "/"
}
