package sshexec

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/sdk/archive"
)

var hostile = []string{
	"", "a b", "it's", `"dq"`, "$(id)", "`id`", "; id;", "new\nline", "-rf", "--checkpoint-action=exec=id",
	"'", "''", `\'`, "$HOME", "*", "!x", "a\tb", "日本語", "'; touch x; echo '",
}

// TestQuoteRoundTrip: the shell gives back every hostile string unchanged, as one word.
func TestQuoteRoundTrip(t *testing.T) {
	t.Parallel()
	for _, s := range hostile {
		out, err := exec.Command("sh", "-c", "printf '%s|' "+Quote(s)).Output()
		require.NoError(t, err, "%q", s)
		require.Equal(t, s+"|", string(out), "%q", s)
	}
}

func FuzzQuote(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := Quote(s)
		// Outside the quotes there is only the escaped quote: the word can
		// neither end early nor expand anything.
		require.True(t, strings.HasPrefix(q, "'") && strings.HasSuffix(q, "'"))
		inner := strings.ReplaceAll(q[1:len(q)-1], `'\''`, "")
		require.NotContains(t, inner, "'")
		require.Equal(t, strings.ReplaceAll(s, "'", ""), inner)
	})
}

func TestCommandLines(t *testing.T) {
	t.Parallel()
	ex := []string{"*.log", "/var/www/cache", "/etc/x", "[ab]", "a/b", "cache"}
	require.Equal(t, "tar -c -f - --format=gnu --numeric-owner --hard-dereference --ignore-failed-read "+
		"--no-wildcards-match-slash --sort=name --exclude='*.log' --exclude='cache' --anchored --exclude='www/cache' --no-anchored "+
		"-C '/var' -- 'www'", gnuTar().Command("/var/www", ex))
	require.Equal(t, "tar -c -f - --numeric-owner --exclude='cache' -C '/var' -- 'www'", Tar{Flavour: BSD}.Command("/var/www", ex))
	require.Equal(t, "tar -c -f - --numeric-owner -C '/var' -- 'www'",
		Tar{Flavour: BusyBox}.Command("/var/www", ex))
	require.Equal(t, "tar -c -f - --format=gnu --numeric-owner --hard-dereference --ignore-failed-read "+
		"--no-wildcards-match-slash --anchored --exclude='./etc/x' --no-anchored -C '/' -- '.'",
		Tar{Flavour: GNU, Version: "1.27"}.Command("/", []string{"/etc/x"}))
	require.Equal(t, "tar -c -f - --format=gnu --numeric-owner --no-recursion --dereference -C / -- 'var' 'var/it'\\''s'",
		gnuTar().ParentsCommand([]string{"/var", "/var/it's"}))
}

func TestParseVersion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		stdout, stderr string
		want           Tar
	}{
		{"tar (GNU tar) 1.34\nCopyright", "", Tar{Flavour: GNU, Version: "1.34", Sort: true}},
		{"tar (GNU tar) 1.26\n", "", Tar{Flavour: GNU, Version: "1.26"}},
		{"bsdtar 3.6.2 - libarchive 3.6.2 zlib/1.2.13\n", "", Tar{Flavour: BSD, Version: "3.6.2"}},
		{"", "tar: unrecognized option '--version'\nBusyBox v1.35.0 (Debian 1:1.35.0-4+b3) multi-call binary.\n", Tar{Flavour: BusyBox, Version: "1.35.0"}},
	} {
		got, err := ParseVersion(tc.stdout, tc.stderr)
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
	_, err := ParseVersion("", "")
	require.ErrorIs(t, err, ErrNoExec)
	require.ErrorContains(t, err, "internal-sftp")
	_, err = ParseVersion("", "sh: 1: tar: not found\n")
	require.ErrorContains(t, err, "not found")
}

// TestFlavours runs the command line of each flavour through sh with that
// tar installed as "tar", and checks the re-emitted entries are the same.
func TestFlavours(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for _, f := range []string{"a b/it's.txt", "a b/x.log", "sub/deep/f", "-dash/f", "cache/c"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, f), []byte(f), 0o640))
	}
	require.NoError(t, os.Symlink("../target", filepath.Join(root, "sub/link")))
	exclude := []string{"*.log", filepath.Join(root, "cache")}
	var want []string
	for _, fl := range []struct {
		tar     Tar
		program string
	}{
		{gnuTar(), "tar"}, {Tar{Flavour: BSD}, "bsdtar"}, {Tar{Flavour: BusyBox}, "busybox"},
	} {
		bin, err := exec.LookPath(fl.program)
		if err != nil {
			if os.Getenv("XV_TEST_REQUIRE_SERVICES") == "1" {
				t.Fatalf("%s not installed (apt-get install libarchive-tools busybox)", fl.program)
			}
			t.Logf("%s not installed (apt-get install libarchive-tools busybox): skipping %s", fl.program, fl.tar.Flavour)
			continue
		}
		dirs := parentDirs([]string{root})
		stream := runLocal(t, bin, fl.program, fl.tar.ParentsCommand(dirs)+" ; "+fl.tar.Command(root, exclude))
		br := bufio.NewReader(bytes.NewReader(stream))
		parents := map[string]connector.Entry{}
		require.NoError(t, readParents(br, dirs, parents), fl.tar.Flavour)
		require.Len(t, parents, len(dirs))
		sink := newRecSink()
		require.NoError(t, newRootStream(root, exclude, sink).read(t.Context(), br), fl.tar.Flavour)
		got := sink.names()
		for _, n := range got {
			require.NoError(t, archive.ValidName(n))
			require.NotContains(t, n, ".log")
			require.NotContains(t, n, "cache/")
		}
		var link string
		for _, e := range sink.entries {
			if strings.HasSuffix(e.Name, "/sub/link") {
				link = e.LinkTarget
			}
		}
		require.Equal(t, "../target", link, "%s: %q", fl.tar.Flavour, got)
		if want == nil {
			want = got
			continue
		}
		require.ElementsMatch(t, want, got, fl.tar.Flavour) // only GNU tar sorts
		require.Equal(t, connector.TypeDir, parents[filepath.Dir(root)].Type)
	}
}

// runLocal runs cmd with sh, "tar" being bin (a busybox applet when program is busybox).
func runLocal(t *testing.T, bin, program, cmd string) []byte {
	t.Helper()
	dir := t.TempDir()
	if program == "busybox" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "tar"), []byte("#!/bin/sh\nexec "+bin+" tar \"$@\"\n"), 0o755))
	} else {
		require.NoError(t, os.Symlink(bin, filepath.Join(dir, "tar")))
	}
	c := exec.Command("sh", "-c", cmd)
	c.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	require.NoError(t, err, "%s: %s", cmd, stderr.String())
	return out
}
