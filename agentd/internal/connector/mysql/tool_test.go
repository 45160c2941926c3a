package mysql

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

func TestToolFlavours(t *testing.T) {
	t.Parallel()
	v, maria := parseToolVersion([]byte("mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)\n"))
	require.Equal(t, "10.11.19-MariaDB", v)
	require.True(t, maria)
	v, maria = parseToolVersion([]byte("mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)\n"))
	require.Equal(t, "8.0.36", v)
	require.False(t, maria)
	v, _ = parseToolVersion([]byte("mysqldump  Ver 10.13 Distrib 5.7.44, for Linux (x86_64)\n"))
	require.Equal(t, "5.7.44", v)

	mysql8 := &tool{name: "mysqldump", gtidPurged: true, columnStats: true, sslMode: true}
	require.Contains(t, mysql8.dumpFlags(), "--set-gtid-purged=OFF")
	require.Contains(t, mysql8.dumpFlags(), "--column-statistics=0")
	require.Equal(t, []string{"ssl-mode=REQUIRED"}, mysql8.tlsOptions(sdk.MySQLTLSRequired))
	require.Equal(t, []string{"ssl-mode=PREFERRED"}, mysql8.tlsOptions(sdk.MySQLTLSPreferred))

	maria11 := &tool{name: "mariadb-dump", mariadb: true, columnStats: true}
	require.NotContains(t, maria11.dumpFlags(), "--column-statistics=0")
	require.NotContains(t, maria11.dumpFlags(), "--set-gtid-purged=OFF")
	require.Equal(t, []string{"skip-ssl"}, maria11.tlsOptions(sdk.MySQLTLSDisabled))
	require.Contains(t, maria11.tlsOptions(sdk.MySQLTLSVerifyCA), "ssl-verify-server-cert")

	for in, want := range map[string]string{
		`plain`:               `"plain"`,
		`a"b\c`:               `"a\"b\\c"`,
		"l1\nl2\r\tx # ; 'q'": `"l1\nl2\r\tx # ; 'q'"`,
	} {
		got, err := optionValue(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	_, err := optionValue("a\x00b")
	require.Error(t, err)
}
