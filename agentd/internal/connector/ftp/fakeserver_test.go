package ftp

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"path"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/connectortest"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// fakeServer is a minimal FTP server for what vsftpd cannot show: MLSD,
// a server that refuses LIST -a, and hostile listings. It serves listings
// and files from maps, over EPSV data connections.
type fakeServer struct {
	mlsd        bool              // FEAT lists MLST; MLSD answers
	refuseDashA bool              // LIST -a answers 501
	dirs        map[string]string // raw listing by directory
	files       map[string]string // content by path
	ln          net.Listener
	wg          sync.WaitGroup
}

func startFake(t *testing.T, f *fakeServer) *fakeServer {
	t.Helper()
	var err error
	f.ln, err = net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f.wg.Go(func() {
		for {
			c, err := f.ln.Accept()
			if err != nil {
				return
			}
			f.wg.Go(func() { f.serve(c) })
		}
	})
	t.Cleanup(func() { _ = f.ln.Close(); f.wg.Wait() })
	return f
}

func (f *fakeServer) connector(t *testing.T, paths ...string) *Connector {
	t.Helper()
	a := f.ln.Addr().(*net.TCPAddr)
	c, err := New(sdk.FTPConfig{Host: "127.0.0.1", Port: a.Port, Username: "u", Paths: paths}, "pw", connector.Env{Egress: loopback})
	require.NoError(t, err)
	return c
}

func (f *fakeServer) serve(conn net.Conn) {
	defer conn.Close()
	tp := textproto.NewConn(conn)
	reply := func(format string, args ...any) { _ = tp.PrintfLine(format, args...) }
	reply("220 FakeFTPd 1.2.3 ready")
	cwd := "/"
	var pasv net.Listener
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		cmd, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(cmd) {
		case "USER":
			reply("331 password please")
		case "PASS":
			reply("230 welcome")
		case "FEAT":
			feat := "211-Features:\r\n EPSV\r\n"
			if f.mlsd {
				feat += " MLST type*;size*;modify*;UNIX.mode*;\r\n"
			}
			_, _ = io.WriteString(conn, feat+"211 End\r\n")
		case "TYPE", "OPTS":
			reply("200 ok")
		case "CWD":
			if _, ok := f.dirs[arg]; !ok {
				reply("550 no such directory")
				continue
			}
			cwd = arg
			reply("250 ok")
		case "EPSV":
			pasv, _ = net.Listen("tcp", "127.0.0.1:0")
			reply("229 Entering Extended Passive Mode (|||%d|)", pasv.Addr().(*net.TCPAddr).Port)
		case "LIST", "MLSD", "RETR":
			f.transfer(pasv, reply, strings.ToUpper(cmd), arg, cwd)
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 not implemented")
		}
	}
}

// transfer answers a data command over the pending EPSV listener.
func (f *fakeServer) transfer(pasv net.Listener, reply func(string, ...any), cmd, arg, cwd string) {
	if pasv == nil {
		reply("425 use EPSV first")
		return
	}
	defer pasv.Close()
	data, ok := "", true
	switch {
	case cmd == "LIST" && arg == "-a" && f.refuseDashA:
		reply("501 unknown option -a")
		return
	case cmd == "MLSD" && !f.mlsd:
		ok = false
	case cmd == "RETR":
		data, ok = f.files[path.Clean(arg)]
	default:
		data = f.dirs[cwd]
	}
	if !ok {
		reply("550 no")
		return
	}
	reply("150 here it comes")
	c, err := pasv.Accept()
	if err != nil {
		return
	}
	w := bufio.NewWriter(c)
	_, _ = w.WriteString(data)
	_ = w.Flush()
	_ = c.Close()
	reply("226 done")
}

func TestFakeMLSD(t *testing.T) {
	t.Parallel()
	f := startFake(t, &fakeServer{mlsd: true, dirs: map[string]string{
		"/": "type=cdir;modify=20260301000000; /\r\ntype=dir;modify=20260301101010;UNIX.mode=0750; www\r\n",
		"/www": "type=cdir; /www\r\ntype=pdir; /\r\n" +
			"type=file;size=5;modify=20260301101011;UNIX.mode=0600; .htaccess\r\n" +
			"type=file;size=3;modify=20260301101012.5; a b\r\n" +
			"type=OS.unix=slink:../etc;modify=20260301101013; link\r\n" +
			"type=OS.unix=blk-8/0;modify=20260301101014; sda\r\n",
	}, files: map[string]string{"/www/.htaccess": "deny!", "/www/a b": "abc"}})
	rec := pull(t, f.connector(t, "/www"))
	require.Equal(t, &archive.Software{Name: "FakeFTPd", Version: "1.2.3"}, rec.Descriptor.Server)
	require.Contains(t, rec.Descriptor.Options, "listing=MLSD")
	require.Equal(t, []string{"www", "www/.htaccess", "www/a b", "www/link"}, names(rec))
	require.Equal(t, 0o750, int(rec.Entries[0].Mode))
	require.Equal(t, 0o600, int(rec.Entries[1].Mode))
	require.Equal(t, "2026-03-01 10:10:12.5 +0000 UTC", rec.Entries[2].ModTime.String(), "MLSD times are exact")
	require.Equal(t, "../etc", rec.Entries[3].LinkTarget)
	require.Equal(t, "deny!", string(rec.Bodies["www/.htaccess"]))
	require.Equal(t, []string{"/www/sda: skipped: type OS.unix=blk-8/0"}, rec.Warnings)
}

func TestFakeRefusesListDashA(t *testing.T) {
	t.Parallel()
	f := startFake(t, &fakeServer{refuseDashA: true, dirs: map[string]string{
		"/":    "drwxr-xr-x 2 0 0 4096 Mar 01 2024 www\r\n",
		"/www": "-rw-r--r-- 1 0 0 2 Mar 01 2024 index.html\r\n",
	}, files: map[string]string{"/www/index.html": "hi"}})
	rec := pull(t, f.connector(t, "/www"))
	require.Equal(t, []string{"www", "www/index.html"}, names(rec))
	require.Len(t, rec.Warnings, 1)
	require.Contains(t, rec.Warnings[0], "/: the server refused LIST -a (501 \"unknown option -a\"); directories are listed with LIST, which may leave out hidden files such as .htaccess")
}

func TestFakeHostileListing(t *testing.T) {
	t.Parallel()
	const pre = "-rw-r--r-- 1 0 0 2 Mar 01 2024 "
	for name, tc := range map[string]struct{ listing, err string }{
		"escape":    {pre + "../../etc/passwd\r\n", `list directory /www: server listed a bad name: ` + archive.ErrInvalidName.Error() + ` "../../etc/passwd": not a single path element`},
		"duplicate": {pre + "a\r\n" + pre + "a\r\n", `list directory /www: server listed the name "a" twice`},
		"garbage":   {"<html>oops</html>\r\n", `list directory /www: cannot parse the line "<html>oops</html>": neither a Unix nor a DOS listing line`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := startFake(t, &fakeServer{dirs: map[string]string{"/": "drwxr-xr-x 2 0 0 4096 Mar 01 2024 www\r\n", "/www": tc.listing}})
			rec := &connectortest.Recorder{}
			err := f.connector(t, "/www").Pull(t.Context(), rec)
			require.EqualError(t, err, fmt.Sprintf("pull %s: %s", f.ln.Addr(), tc.err))
			require.Equal(t, []string{"www"}, names(rec), "nothing below the directory")
		})
	}
}
