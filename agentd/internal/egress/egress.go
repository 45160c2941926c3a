// Package egress decides which addresses an agent may dial. Loopback,
// link-local (cloud metadata at 169.254.169.254 included), unspecified,
// multicast and private addresses are refused unless the operator allowed
// them (agentd --allow-loopback, --allow-private). The check runs on the
// resolved address at dial time, so a host name that resolves to a
// forbidden address (DNS rebinding included) is refused too.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// Policy is what an agent may dial. The zero value allows public addresses only.
type Policy struct {
	AllowLoopback bool // 127.0.0.0/8, ::1, and local unix sockets
	AllowPrivate  bool // RFC 1918, RFC 4193 (fc00::/7), 100.64.0.0/10 (CGNAT)
}

// ErrRefused is wrapped by every refusal. A refusal is permanent: the agent
// does not retry a job that failed with it.
var ErrRefused = errors.New("egress policy refused the address")

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// Check reports why addr may not be dialed, or nil.
func (p Policy) Check(addr netip.Addr) error {
	addr = addr.Unmap()
	var class, flag, why string
	switch {
	case addr.IsLoopback():
		if p.AllowLoopback {
			return nil
		}
		class, flag = "loopback", "--allow-loopback"
	case addr.IsUnspecified():
		class = "unspecified"
	case addr.IsLinkLocalUnicast(), addr.IsLinkLocalMulticast():
		class, why = "link-local", "; cloud metadata services live here"
	case addr.IsMulticast(), addr.IsInterfaceLocalMulticast():
		class = "multicast"
	case addr.IsPrivate(), cgnat.Contains(addr):
		if p.AllowPrivate {
			return nil
		}
		class, flag = "private", "--allow-private"
	default:
		return nil
	}
	hint := "never allowed" + why
	if flag != "" {
		hint = "hint: start agentd with " + flag + " if this agent may reach it"
	}
	return fmt.Errorf("%w: %s is a %s address (%s)", ErrRefused, addr, class, hint)
}

// CheckSocket reports whether a unix socket on the agent's own host may be used.
func (p Policy) CheckSocket(path string) error {
	if p.AllowLoopback {
		return nil
	}
	return fmt.Errorf("%w: unix socket %s is on the agent's own host (hint: start agentd with --allow-loopback if this agent may reach it)",
		ErrRefused, path)
}

// Resolve looks host up and returns its first allowed address; if every
// address is refused, the error names the first refusal.
func (p Policy) Resolve(ctx context.Context, host string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a, p.Check(a)
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("resolve %s: %w", host, err)
	}
	var first error
	for _, a := range addrs {
		err := p.Check(a)
		if err == nil {
			return a.Unmap(), nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		return netip.Addr{}, fmt.Errorf("resolve %s: no addresses", host)
	}
	return netip.Addr{}, fmt.Errorf("%s: %w", host, first)
}

// Dialer dials TCP after checking the resolved address.
type Dialer struct {
	Policy  Policy
	Timeout time.Duration // default 30s
}

// DialContext resolves addr ("host:port"), checks the address and connects to it.
func (d Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	ip, err := d.Policy.Resolve(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	if _, err := strconv.Atoi(port); err != nil {
		return nil, fmt.Errorf("dial %s: bad port", addr)
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	nd := net.Dialer{Timeout: timeout}
	return nd.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
}
