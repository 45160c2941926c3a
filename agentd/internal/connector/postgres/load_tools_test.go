package postgres

import (
	"bytes"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/sdk"
)

func TestKnowsRestrict(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]bool{"18.0": true, "18": true, "19.1": true, "17.6": true, "17.5": false, "16.10": true,
		"16.9": false, "15.14": true, "15.13": false, "14.19": true, "14.18": false, "13.22": true, "13.21": false, "12.22": false, "9.6.24": false} {
		require.Equal(t, want, knowsRestrict(v), v)
	}
}

// testHeader is the start of a custom archive of pg_dump 15 (format 1.14).
var testHeader = []byte("PGDMP\x01\x0e\x00\x04\x08\x01" + "\x00\x00\x00\x00\x00" + strings.Repeat("\x00\x05\x00\x00\x00", 7) +
	"\x00\x04\x00\x00\x00test" + "\x00\x05\x00\x00\x0015.20" + "\x00\x05\x00\x00\x0015.20")

func TestParseCustomHeader(t *testing.T) {
	t.Parallel()
	h, err := parseCustomHeader(testHeader)
	require.NoError(t, err)
	require.Equal(t, customHeader{vmaj: 1, vmin: 14, database: "test", serverVersion: "15.20", dumpVersion: "15.20"}, h)
	for i := range len(testHeader) {
		_, err := parseCustomHeader(testHeader[:i])
		require.Error(t, err, "cut at %d", i)
	}
	for name, tc := range map[string]struct{ b, err string }{
		"plain":    {"--\n-- PostgreSQL", "no PGDMP header"},
		"tar":      {"PGDMP\x01\x0e\x00\x04\x08\x03", "format tar, not custom"},
		"version":  {"PGDMP\x02\x00\x00\x04\x08\x01", "format version 2.0.0"},
		"int size": {"PGDMP\x01\x0e\x00\x40\x08\x01", "implausible integer sizes"},
	} {
		_, err := parseCustomHeader([]byte(tc.b))
		require.ErrorContains(t, err, tc.err, name)
	}
	long := bytes.Replace(testHeader, []byte("\x04\x00\x00\x00test"), []byte("\x00\x00\x01\x00test"), 1)
	_, err = parseCustomHeader(long)
	require.ErrorContains(t, err, "a string of 65536 bytes")
}

func TestChooseRestore(t *testing.T) {
	t.Parallel()
	sets := []loadSet{{toolset{dir: "/17", version: "17.2", major: 1700}, true}, {toolset{dir: "/16", version: "16.6", major: 1600}, false},
		{toolset{dir: "/15", version: "15.20", major: 1500}, true}, {toolset{dir: "/13", version: "13.22", major: 1300}, true}}
	for _, tc := range []struct {
		vmin   byte
		server int
		want   string
	}{{14, 1500, "/15"}, {14, 1600, "/17"}, {14, 1300, "/13"}, {14, 1200, "/13"}, {15, 1500, "/17"}, {16, 1500, "/17"}, {14, 1800, "/17"}} {
		got, err := chooseRestore(sets, customHeader{vmaj: 1, vmin: tc.vmin}, tc.server)
		require.NoError(t, err)
		require.Equal(t, tc.want, got.dir, "archive 1.%d, server %d", tc.vmin, tc.server)
	}
	_, err := chooseRestore(sets, customHeader{vmaj: 1, vmin: 17, dumpVersion: "18.1"}, 1700)
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.EqualError(t, err, "the dump is a custom archive of format 1.17.0, made by pg_dump 18.1; pg_restore 17.2, 15.20, 13.22 cannot read it "+
		"(hint: install postgresql-client-18 or later on the agent): permanent failure")
	_, err = chooseRestore(sets[1:2], customHeader{vmaj: 1, vmin: 14}, 1600)
	require.ErrorContains(t, err, "no pg_restore is installed")
}

func TestTempName(t *testing.T) {
	t.Parallel()
	for _, db := range []string{"shop", strings.Repeat("x", 63), strings.Repeat("☃", 21)} {
		n := tempName(db)
		require.LessOrEqual(t, len(n), maxNameLen)
		require.True(t, validName(n), n)
		require.Regexp(t, `__xv[0-9a-f]{8}$`, n)
		require.True(t, strings.HasPrefix(db, strings.TrimRight(n[:len(n)-12], "")), n)
	}
	require.NotEqual(t, tempName("a"), tempName("a"))
	require.Equal(t, `"a""b"`, quoteIdent(`a"b`))
	require.Equal(t, `E'it''s \\ x'`, escapeLiteral(`it's \ x`))
}

func TestCheckDump(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	good := wrap("COPY t (a) FROM stdin;\n1\n\\.\n")
	require.NoError(t, CheckDump(ctx, "sql", strings.NewReader(good)))
	for _, bad := range []string{good[:len(good)-30], good[:len(testHead)+30], wrap("\\! id\n")} {
		err := CheckDump(ctx, "sql", strings.NewReader(bad))
		require.ErrorIs(t, err, connector.ErrPermanent)
	}
	err := CheckDump(ctx, "sql", iotest.TimeoutReader(strings.NewReader(good)))
	require.ErrorIs(t, err, iotest.ErrTimeout)
	require.NotErrorIs(t, err, connector.ErrPermanent, "a failing reader is not a bad dump")

	require.ErrorContains(t, CheckDump(ctx, "custom", strings.NewReader(good)), "no PGDMP header")
	require.ErrorContains(t, CheckDump(ctx, "custom", bytes.NewReader(testHeader[:20])), "truncated")
	require.ErrorContains(t, CheckDump(ctx, "tar", strings.NewReader(good)), `dump format "tar"`)
}

// TestCheckDumpReal checks the dumps this machine's pg_dump makes, whole
// and cut short.
func TestCheckDumpReal(t *testing.T) {
	t.Parallel()
	s := requirePostgres(t)
	db, _ := fixtureDB(t, s)
	for _, format := range []string{sdk.PostgresFormatPlain, sdk.PostgresFormatCustom} {
		p := pullDB(t, s, db, pgAdmin, "", format)
		require.NoError(t, CheckDump(t.Context(), p.format, bytes.NewReader(p.dump)), format)
		cut := bytes.Index(p.dump, []byte("Ada"))
		err := CheckDump(t.Context(), p.format, bytes.NewReader(p.dump[:cut]))
		t.Log(err)
		if format == sdk.PostgresFormatPlain {
			require.ErrorIs(t, err, connector.ErrPermanent, format)
		}
		// pg_restore --list reads only the table of contents: a custom
		// archive cut in its data passes (the artifact's checksums catch it).
		cut = bytes.Index(p.dump, []byte("CREATE TABLE"))
		require.ErrorIs(t, CheckDump(t.Context(), p.format, bytes.NewReader(p.dump[:cut])), connector.ErrPermanent, format)
	}
}
