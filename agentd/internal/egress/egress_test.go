package egress

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	cases := []struct {
		addr            string
		strict, allowed bool // refused by the zero policy / allowed with both flags
	}{
		{"8.8.8.8", false, true},
		{"2001:4860:4860::8888", false, true},
		{"127.0.0.1", true, true},
		{"::1", true, true},
		{"::ffff:127.0.0.1", true, true},
		{"10.0.0.1", true, true},
		{"172.16.5.4", true, true},
		{"192.168.1.1", true, true},
		{"100.64.0.1", true, true},
		{"fd00::1", true, true},
		{"169.254.169.254", true, false},
		{"fe80::1", true, false},
		{"0.0.0.0", true, false},
		{"::", true, false},
		{"224.0.0.1", true, false},
		{"ff02::1", true, false},
	}
	open := Policy{AllowLoopback: true, AllowPrivate: true}
	for _, c := range cases {
		a := netip.MustParseAddr(c.addr)
		err := Policy{}.Check(a)
		require.Equal(t, c.strict, err != nil, "%s with the zero policy: %v", c.addr, err)
		if err != nil {
			require.ErrorIs(t, err, ErrRefused)
		}
		require.Equal(t, c.allowed, open.Check(a) == nil, "%s with both flags", c.addr)
	}
}

func TestDialerChecksResolvedAddress(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	// "localhost" resolves to loopback: refused after resolution.
	_, err = Dialer{}.DialContext(context.Background(), "tcp", net.JoinHostPort("localhost", port))
	require.True(t, errors.Is(err, ErrRefused), "%v", err)
	c, err := Dialer{Policy: Policy{AllowLoopback: true}}.DialContext(context.Background(), "tcp", net.JoinHostPort("localhost", port))
	require.NoError(t, err)
	c.Close()
	require.ErrorIs(t, Policy{}.CheckSocket("/run/mysqld/mysqld.sock"), ErrRefused)
}
