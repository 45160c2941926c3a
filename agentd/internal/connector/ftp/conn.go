package ftp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net"
	"sync"
	"time"

	"github.com/xvault/xvault/agentd/internal/egress"
)

// dialer opens the control connection and every data connection of one
// session through the egress policy (jlaffaye/ftp calls dial for both), and
// layers on each: an idle timeout, TLS where the source uses it, the capture
// of the control connection's greeting, and the capture of listing data.
type dialer struct {
	ctx      context.Context
	egress   egress.Dialer
	tls      *tls.Config // nil: plain FTP
	implicit bool        // TLS from the first byte of the control connection
	idle     time.Duration

	mu      sync.Mutex
	open    map[net.Conn]struct{} // TCP connections not closed yet
	closed  bool
	control *greetingConn  // the control connection, once dialed
	capture *capture       // attached to the next data connection
	hosts   map[string]int // connections dialed per host, for tests
}

var errClosed = errors.New("ftp session closed")

// dial is the DialFunc of jlaffaye/ftp: its first call opens the control
// connection, every later one a data connection (at the control
// connection's address: the library never trusts the host a PASV reply names).
func (d *dialer) dial(network, addr string) (net.Conn, error) {
	d.mu.Lock()
	closed, isControl := d.closed, d.control == nil
	if d.hosts == nil {
		d.hosts = map[string]int{}
	}
	host, _, _ := net.SplitHostPort(addr)
	d.hosts[host]++
	d.mu.Unlock()
	if closed {
		return nil, errClosed
	}
	raw, err := d.egress.DialContext(d.ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if err := d.track(raw); err != nil {
		return nil, err
	}
	var c net.Conn = &trackedConn{Conn: &idleConn{Conn: raw, idle: d.idle}, d: d, raw: raw}
	if isControl {
		return d.controlConn(c)
	}
	if d.tls != nil {
		// No handshake yet: servers start TLS on a data connection only
		// after the command that uses it (the library's own behaviour too).
		c = tls.Client(c, d.tls)
	}
	d.mu.Lock()
	if capt := d.capture; capt != nil {
		d.capture = nil
		c = &captureConn{Conn: c, capture: capt}
	}
	d.mu.Unlock()
	return c, nil
}

func (d *dialer) controlConn(c net.Conn) (net.Conn, error) {
	if d.implicit {
		tc := tls.Client(c, d.tls)
		if err := tc.HandshakeContext(d.ctx); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		c = tc
	}
	g := &greetingConn{Conn: c}
	d.mu.Lock()
	d.control = g
	d.mu.Unlock()
	return g, nil
}

func (d *dialer) track(c net.Conn) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		_ = c.Close()
		return errClosed
	}
	if d.open == nil {
		d.open = map[net.Conn]struct{}{}
	}
	d.open[c] = struct{}{}
	return nil
}

func (d *dialer) untrack(c net.Conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.open, c)
}

// closeAll closes every connection, which unblocks whatever waits on one.
func (d *dialer) closeAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	for c := range d.open {
		_ = c.Close()
	}
	clear(d.open)
}

// setCapture makes the next data connection record what it reads.
func (d *dialer) setCapture(c *capture) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.capture = c
}

// greeting returns the control connection's first reply (the 220 banner).
func (d *dialer) greeting() string {
	d.mu.Lock()
	g := d.control
	d.mu.Unlock()
	if g == nil {
		return ""
	}
	return g.text()
}

func (d *dialer) dialedHosts() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.hosts)
}

// trackedConn forgets its TCP connection when closed.
type trackedConn struct {
	net.Conn
	d   *dialer
	raw net.Conn
}

func (c *trackedConn) Close() error {
	c.d.untrack(c.raw)
	return c.Conn.Close()
}

// idleConn fails a read or write that waits longer than idle, so a server
// that stops answering cannot hang a job.
type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c *idleConn) Read(b []byte) (int, error) {
	if err := c.SetReadDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *idleConn) Write(b []byte) (int, error) {
	if err := c.SetWriteDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// maxGreeting bounds the greeting kept.
const maxGreeting = 2048

// greetingConn keeps the first reply read from the control connection: the
// library reads and drops the 220 greeting that names the server software.
// With explicit TLS it sits below the TLS layer, which starts only after
// the greeting.
type greetingConn struct {
	net.Conn
	mu   sync.Mutex
	buf  bytes.Buffer
	done bool
}

func (g *greetingConn) Read(b []byte) (int, error) {
	n, err := g.Conn.Read(b)
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.done && n > 0 {
		g.buf.Write(b[:min(n, maxGreeting-g.buf.Len())])
		g.done = g.buf.Len() >= maxGreeting || replyComplete(g.buf.Bytes())
	}
	return n, err
}

func (g *greetingConn) text() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.String()
}

// replyComplete reports whether b holds a whole FTP reply: its last line
// is "NNN text" (a multi-line reply's other lines are "NNN-text" or free).
func replyComplete(b []byte) bool {
	lines := bytes.Split(b, []byte("\n"))
	for _, line := range lines[:len(lines)-1] { // the last one is not complete yet
		if len(line) >= 4 && line[3] == ' ' && isDigits(string(line[:3])) {
			return true
		}
	}
	return false
}

// maxListing bounds the raw listing of one directory held in memory.
const maxListing = 128 << 20

var errListingTooLarge = fmt.Errorf("directory listing larger than %d MiB", maxListing>>20)

// capture is the raw data of one listing.
type capture struct {
	buf bytes.Buffer
	err error
}

// captureConn records what it reads into its capture.
type captureConn struct {
	net.Conn
	capture *capture
}

func (c *captureConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		if c.capture.buf.Len()+n > maxListing {
			c.capture.err = errListingTooLarge
			return 0, errListingTooLarge
		}
		c.capture.buf.Write(b[:n])
	}
	return n, err
}
