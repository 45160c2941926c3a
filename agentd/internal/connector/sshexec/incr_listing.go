package sshexec

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/xvault/xvault/agentd/internal/connector/sshconn"
	"github.com/xvault/xvault/agentd/internal/incremental"
)

// ErrNoFind: the server has no GNU find (BusyBox, BSD find), so an exec
// listing is impossible; the caller falls back to an SFTP incremental.
var ErrNoFind = errors.New("the server has no GNU find (-printf)")

// ErrNoListTar: the server's tar cannot archive a NUL-separated list read
// from stdin (BusyBox has neither --null nor -T), or there is no usable tar;
// the caller falls back to an SFTP incremental.
var ErrNoListTar = errors.New("the server's tar cannot read a list of names (--null -T -)")

// bannerTimeout bounds the wait for the script's first output: an account
// restricted to SFTP runs the SFTP server instead, which waits for input.
var bannerTimeout = 30 * time.Second

// Listing is the one exec session of an incremental backup
// (docs/incremental.md, section 2): the listing script's banner, then the
// records of every root (Records), then a tar of the files the agent asks
// for on stdin (Request, Next), then the exit status (Wait). Its methods are
// called in that order from one goroutine; Close may be called at any time.
type Listing struct {
	sess    *ssh.Session
	stdin   io.WriteCloser
	br      *bufio.Reader
	stderr  *lineBuffer // read only after the session ended
	stop    func() bool
	ctx     context.Context
	roots   []string
	dirs    []string
	exclude []string
	banner  banner
	tar     Tar

	listed    bool
	requested bool
	ended     bool
	waited    bool
	want      []string
	wantIdx   map[string]int
	next      int
	tr        *tar.Reader
	last      string // the last entry name read, for errors
	writeErr  chan error
	warns     []Warning
	vanished  int
}

// StartListing starts the listing script for the configured roots (after
// the normalisation of a full: sorted, nested and excluded roots dropped)
// and reads its banner. It returns ErrNoListTar or ErrNoFind (the caller
// falls back to SFTP) when the server lacks the tools, an error wrapping
// ErrNoExec when the account runs no commands. Cancelling ctx ends the
// session.
func StartListing(ctx context.Context, client *ssh.Client, roots, exclude []string) (*Listing, error) {
	l := &Listing{ctx: ctx, exclude: exclude, stderr: &lineBuffer{}, writeErr: make(chan error, 1)}
	for _, r := range sshconn.NormaliseRoots(roots) {
		if r == "/" || !sshconn.Excluded(exclude, r) {
			l.roots = append(l.roots, r)
		}
	}
	l.dirs = parentDirs(l.roots)
	if err := l.start(client); err != nil {
		return nil, err
	}
	if err := l.readBanner(); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

func (l *Listing) start(client *ssh.Client) error {
	sess, err := client.NewSession()
	if err != nil {
		return fmt.Errorf("%w: open an exec channel: %w", ErrNoExec, err)
	}
	stdout, err := sess.StdoutPipe()
	if err == nil {
		l.stdin, err = sess.StdinPipe()
	}
	if err != nil {
		_ = sess.Close()
		return fmt.Errorf("exec channel: %w", err)
	}
	sess.Stderr = l.stderr
	if err := sess.Start(listingScript(l.roots, l.dirs, l.exclude)); err != nil {
		_ = sess.Close()
		return fmt.Errorf("%w: start the listing script: %w", ErrNoExec, err)
	}
	l.sess, l.br = sess, bufio.NewReaderSize(stdout, readBufferSize)
	l.stop = context.AfterFunc(l.ctx, func() { _ = sess.Close() })
	return nil
}

// readBanner reads the banner within bannerTimeout and judges the flavours.
func (l *Listing) readBanner() error {
	timer := time.AfterFunc(bannerTimeout, func() { _ = l.sess.Close() })
	bn, err := readBanner(&fieldReader{br: l.br})
	expired := !timer.Stop()
	if ctxErr := l.ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if expired {
		return fmt.Errorf("%w: the listing script printed nothing within %s (is the account restricted to SFTP, e.g. ForceCommand internal-sftp?)",
			ErrNoExec, bannerTimeout)
	}
	if err != nil {
		if errors.Is(err, errFraming) && strings.Contains(err.Error(), "ended early") {
			return fmt.Errorf("%w: the listing script printed nothing (is the account restricted to SFTP, e.g. ForceCommand internal-sftp?)", ErrNoExec)
		}
		return err
	}
	l.banner = bn
	t, perr := ParseVersion(bn.tarVersion, "")
	switch {
	case perr != nil:
		return fmt.Errorf("%w: %w", ErrNoListTar, perr)
	case t.Flavour == BusyBox:
		return fmt.Errorf("%w: %s %s", ErrNoListTar, t.Flavour, t.Version)
	case !strings.Contains(bn.findVersion, "GNU findutils"):
		return fmt.Errorf("%w: find --version said %q", ErrNoFind, truncate(bn.findVersion, 80))
	}
	l.tar = t
	return nil
}

// Start is the server's clock when the listing started (listing_start).
func (l *Listing) Start() time.Time { return l.banner.start }

// TarFlavour is the server's tar.
func (l *Listing) TarFlavour() Tar { return l.tar }

// FindVersion is the first line of the server's `find --version`.
func (l *Listing) FindVersion() string { return l.banner.findVersion }

// Roots are the roots listed, normalised, in listing order.
func (l *Listing) Roots() []string { return l.roots }

// Records reads the records of every root: the parents of the roots first
// (plain directories), then each root in find's pre-order, excludes
// applied. Entries of other types than f, d, l are skipped with a
// warning. A root that does not exist fails. find's own stderr lines come
// back from Wait.
func (l *Listing) Records(hint SizeHint) ([]incremental.Record, []Warning, error) {
	if l.listed {
		return nil, nil, errors.New("listing: Records called twice")
	}
	l.listed = true
	recs, warns, err := readListing(l.br, l.roots, l.dirs, l.exclude, hint)
	if err == nil {
		return recs, warns, nil
	}
	if ctxErr := l.ctx.Err(); ctxErr != nil {
		return nil, nil, ctxErr
	}
	var missing *rootMissingError
	if errors.As(err, &missing) {
		missing.detail = l.drainForStderr("find: ")
	}
	l.Close()
	return nil, nil, err
}

// drainForStderr ends the session gracefully (no names: tar writes an
// empty archive) and returns the stderr lines with the given prefix.
func (l *Listing) drainForStderr(prefix string) string {
	_ = l.stdin.Close()
	if n, _ := io.CopyN(io.Discard, l.br, maxTrailer); n == maxTrailer {
		_ = l.sess.Close()
	}
	_ = l.sess.Wait()
	l.waited = true
	var keep []string
	for _, s := range l.stderr.lines() {
		if strings.HasPrefix(s, prefix) {
			keep = append(keep, s)
		}
	}
	if len(keep) == 0 {
		return ""
	}
	return tail(keep, 3)
}

// Close ends the session. It is safe to call more than once and after Wait.
func (l *Listing) Close() {
	if l.stop != nil {
		l.stop()
	}
	_ = l.sess.Close()
	if !l.waited {
		l.waited = true
		_ = l.sess.Wait()
	}
}
