package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// MaxURLLength bounds a webhook URL.
const MaxURLLength = 2048

// ErrRefused is wrapped by every egress refusal.
var ErrRefused = errors.New("webhook egress refused the address")

// Policy is where the hub may send webhooks. The zero value allows public
// addresses only. AllowPrivate (hubd --allow-webhook-private, on in --dev)
// also allows loopback and private ranges (RFC 1918, fc00::/7, CGNAT);
// link-local (cloud metadata), multicast and unspecified addresses are
// never allowed.
type Policy struct {
	AllowPrivate bool
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// Check reports why addr may not receive a webhook, or nil.
func (p Policy) Check(addr netip.Addr) error {
	addr = addr.Unmap()
	var class string
	private := false
	switch {
	case addr.IsLoopback():
		class, private = "loopback", true
	case addr.IsUnspecified():
		class = "unspecified"
	case addr.IsLinkLocalUnicast(), addr.IsLinkLocalMulticast():
		class = "link-local"
	case addr.IsMulticast(), addr.IsInterfaceLocalMulticast():
		class = "multicast"
	case addr.IsPrivate(), cgnat.Contains(addr):
		class, private = "private", true
	default:
		return nil
	}
	if private && p.AllowPrivate {
		return nil
	}
	hint := "never allowed"
	if private {
		hint = "hint: start hubd with --allow-webhook-private if the hub may reach it"
	}
	return fmt.Errorf("%w: %s is a %s address (%s)", ErrRefused, addr.WithZone(""), class, hint)
}

// ParseURL checks a webhook URL's form: http or https, a host, no
// user:password, at most MaxURLLength bytes.
func ParseURL(raw string) (*url.URL, error) {
	if len(raw) > MaxURLLength {
		return nil, fmt.Errorf("is %d bytes long, at most %d are allowed", len(raw), MaxURLLength)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || raw == "":
		return nil, errors.New("is not a URL (hint: https://example.com/hooks/xvault)")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("must start with http:// or https://")
	case u.User != nil:
		return nil, errors.New("must not carry user:password (hint: put a token in the path or query)")
	case u.Hostname() == "":
		return nil, errors.New("has no host")
	case strings.ContainsAny(raw, " \t\r\n"):
		return nil, errors.New("must not contain spaces")
	}
	return u, nil
}

// CheckURL resolves the URL's host and refuses it when any of its
// addresses is refused (the send re-checks the address it dials).
func (p Policy) CheckURL(ctx context.Context, u *url.URL) error {
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		return p.Check(a)
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("cannot resolve %s (hint: check the host name; the hub must resolve it)", host)
	}
	for _, a := range addrs {
		if err := p.Check(a); err != nil {
			return fmt.Errorf("%s: %w", host, err)
		}
	}
	return nil
}

// control is a net.Dialer Control hook: it checks the address actually
// dialed, so a name that resolves differently at send time (DNS
// rebinding) is refused too.
func (p Policy) control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrRefused, address, err)
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %s is not an IP address", ErrRefused, host)
	}
	return p.Check(a)
}
