package ftp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"regexp"
	"strings"
	"syscall"
	"time"

	jftp "github.com/jlaffaye/ftp"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/egress"
	"github.com/xvault/xvault/sdk/archive"
)

// session is one logged-in control connection.
type session struct {
	c    *jftp.ServerConn
	d    *dialer
	stop func() bool // ends the cancellation watch
	// mlsd: the server has MLST/MLSD (FEAT), used for listings; else LIST -a.
	mlsd bool
	// mdtm: the server has MDTM, used for the exact mtime of each file when
	// the listing gives minutes only.
	mdtm bool
	// plainList: the server refused LIST -a; directories are listed with LIST.
	plainList bool
	// onPlainList is called when the server first refuses LIST -a.
	onPlainList func(dir string, refusal error)
}

// dial connects to the server (greeting read, TLS set up for implicit TLS)
// but does not log in. Cancelling ctx closes every connection of the session.
func (c *Connector) dial(ctx context.Context) (*session, error) {
	d := &dialer{
		ctx:      ctx,
		egress:   egress.Dialer{Policy: c.env.Egress, Timeout: c.dialTimeout},
		tls:      c.tlsConfig(),
		implicit: c.cfg.TLS == tlsImplicit,
		idle:     c.idleTimeout,
	}
	opts := []jftp.DialOption{jftp.DialWithDialFunc(d.dial), jftp.DialWithDisabledEPSV(c.disableEPSV)}
	switch c.cfg.TLS {
	case tlsExplicit:
		opts = append(opts, jftp.DialWithExplicitTLS(d.tls))
	case tlsImplicit:
		opts = append(opts, jftp.DialWithTLS(d.tls)) // the control connection is TLS already: Login sends PBSZ/PROT
	}
	stop := context.AfterFunc(ctx, d.closeAll)
	sc, err := jftp.Dial(c.addr, opts...)
	if err != nil {
		stop()
		d.closeAll()
		return nil, c.connectError(ctx, err)
	}
	return &session{c: sc, d: d, stop: stop}, nil
}

// login authenticates and learns the server's features.
func (s *session) login(c *Connector, password string) error {
	if err := s.c.Login(c.cfg.Username, password); err != nil {
		return c.loginError(err)
	}
	s.mlsd = s.c.IsTimePreciseInList() // true exactly when FEAT lists MLST
	s.mdtm = s.c.IsGetTimeSupported()
	return nil
}

// close says QUIT and closes every connection.
func (s *session) close() {
	s.stop()
	_ = s.c.Quit() // nothing to lose: the pull is over
	s.d.closeAll()
}

// server names the software from the greeting ("220 (vsFTPd 3.0.3)").
func (s *session) server() archive.Software { return parseGreeting(s.d.greeting()) }

// listingMethod names how directories are listed, for the descriptor.
func (s *session) listingMethod() string {
	method := "LIST -a"
	switch {
	case s.mlsd:
		return "MLSD"
	case s.plainList:
		method = "LIST"
	}
	if s.mdtm {
		method += " + MDTM"
	}
	return method
}

// list lists directory p: CWD p, then MLSD or LIST -a (after CWD, so no
// argument that a server could take as a glob pattern), parsed from the
// raw reply (jlaffaye/ftp drops lines it cannot parse and most facts). A
// server that refuses LIST -a is listed with LIST from then on, and
// s.onPlainList is told once.
func (s *session) list(p string) (*listing, error) {
	if err := s.c.ChangeDir(p); err != nil {
		return nil, err
	}
	arg := "-a"
	switch {
	case s.mlsd, s.plainList:
		arg = ""
	}
	l, err := s.listHere(arg)
	var te *textproto.Error
	if arg == "-a" && errors.As(err, &te) && te.Code >= 500 {
		if l, err = s.listHere(""); err == nil {
			s.plainList = true
			if s.onPlainList != nil {
				s.onPlainList(p, te)
			}
		}
	}
	return l, err
}

// listHere lists the current directory with MLSD or LIST arg.
func (s *session) listHere(arg string) (*listing, error) {
	capt := &capture{}
	s.d.setCapture(capt)
	_, err := s.c.List(arg)
	s.d.setCapture(nil)
	if capt.err != nil {
		return nil, capt.err
	}
	if err != nil {
		return nil, err
	}
	return parseListing(capt.buf.Bytes(), s.mlsd, time.Now())
}

var greetingRE = regexp.MustCompile(`^\(?([A-Za-z][A-Za-z0-9_.-]*)[ /]v?([0-9]+(?:\.[0-9A-Za-z_-]+)+)(?:\)|\s|$)`)

// parseGreeting turns "220 (vsFTPd 3.0.3)" into {vsFTPd 3.0.3} (a greeting
// that starts with a name and a version); a greeting of another shape is
// kept whole (printable ASCII, at most 120 bytes) as the name.
func parseGreeting(g string) archive.Software {
	var parts []string
	for line := range strings.SplitSeq(g, "\n") {
		line = strings.TrimSpace(line)
		if len(line) >= 4 && isDigits(line[:3]) && (line[3] == ' ' || line[3] == '-') {
			line = line[4:]
		}
		if line = printable(line); line != "" {
			parts = append(parts, line)
		}
	}
	text := strings.Join(parts, " ")
	if len(text) > 120 {
		text = text[:120]
	}
	if m := greetingRE.FindStringSubmatch(text); m != nil {
		return archive.Software{Name: m[1], Version: m[2]}
	}
	if text == "" {
		text = "unknown FTP server"
	}
	return archive.Software{Name: text}
}

func printable(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, s))
}

// connectError says what failed while connecting. Refusals by the egress
// policy and untrusted certificates are permanent; the rest is retryable.
func (c *Connector) connectError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("connect %s: %w", c.addr, ctx.Err())
	}
	if cert := c.certError(err); cert != nil {
		return cert
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return fmt.Errorf("connect %s: the server refused the connection: %d %s", c.addr, te.Code, printable(te.Msg))
	}
	var rec tls.RecordHeaderError
	if errors.As(err, &rec) {
		return fmt.Errorf("connect %s: %w (hint: the server does not speak TLS on this port: check tls and port): %w",
			c.addr, err, connector.ErrPermanent)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && c.cfg.TLS != tlsImplicit {
		return fmt.Errorf("connect %s: %w (hint: no greeting from the server; if it speaks implicit TLS on this port, set tls to implicit)", c.addr, err)
	}
	return fmt.Errorf("connect %s: %w", c.addr, err)
}

// certError returns the permanent error for a certificate that failed
// verification, or nil.
func (c *Connector) certError(err error) error {
	if !untrusted(err) {
		return nil
	}
	return fmt.Errorf("TLS certificate of %s is not trusted: %w (hint: give the server a certificate from a public CA "+
		"that names %s, or set insecure_skip_verify to accept any certificate, which a man in the middle could use): %w",
		c.addr, err, c.cfg.Host, connector.ErrPermanent)
}

// untrusted reports whether err is a certificate that failed verification.
func untrusted(err error) bool {
	var verify *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid)
}

// loginError classifies a failed Login: refused credentials and other
// refusals are permanent, lost connections and 4xx replies retryable.
func (c *Connector) loginError(err error) error {
	if cert := c.certError(err); cert != nil {
		return cert
	}
	if isNetwork(err) {
		return fmt.Errorf("log in to %s: %w", c.addr, err)
	}
	var te *textproto.Error
	if !errors.As(err, &te) {
		// The library reports a refused USER command with the bare reply text.
		te = &textproto.Error{Code: 530, Msg: err.Error()}
	}
	msg := printable(te.Msg)
	if te.Code >= 400 && te.Code < 500 {
		return fmt.Errorf("log in to %s: the server answered %d %s (try again later)", c.addr, te.Code, msg)
	}
	hint := "hint: check the username and the password credential"
	if low := strings.ToLower(msg); strings.Contains(low, "encrypt") || strings.Contains(low, "ssl") || strings.Contains(low, "tls") {
		hint = "hint: the server requires TLS; set tls to explicit (or implicit)"
	}
	if te.Code != 530 {
		hint = "the server refused a command the backup needs"
	}
	return fmt.Errorf("log in to %s as %q: %d %s (%s): %w", c.addr, c.cfg.Username, te.Code, msg, hint, connector.ErrPermanent)
}

// isNetwork reports whether err is a failure of the connection itself.
func isNetwork(err error) bool {
	var ne net.Error
	var errno syscall.Errno
	var alert tls.AlertError
	var rec tls.RecordHeaderError
	return errors.As(err, &ne) || errors.As(err, &errno) || errors.As(err, &alert) || errors.As(err, &rec) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, errClosed)
}

// pathError reports whether err concerns one path only (the server answered
// 450 or 55x: missing, not readable, not a plain file), so the walk can warn
// and go on; a name the protocol cannot carry (CR or LF) counts too.
func pathError(err error) bool {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code == 450 || te.Code >= 550 && te.Code <= 559
	}
	return errors.Is(err, jftp.ErrInvalidCommand)
}
