package retention

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/sdk"
)

func TestPolicyFlags(t *testing.T) {
	t.Parallel()
	p, err := (&PolicyFlags{Last: 2, Daily: 7, Within: "1d12h", MinAge: "2d", MaxAge: "52w"}).Policy()
	require.NoError(t, err)
	require.Equal(t, sdk.RetentionPolicy{KeepLastN: 2, KeepDaily: 7, KeepWithin: "1d12h", MinAgeHours: 48, MaxAgeDays: 364}, p)
	for _, bad := range []PolicyFlags{{Last: -1}, {Yearly: -2}, {Within: "soon"}, {MinAge: "90m"}, {MaxAge: "36h"},
		{MaxAge: "0d"}, {MinAge: "1x"}} {
		_, err := bad.Policy()
		var ue *cmdutil.UsageError
		require.True(t, errors.As(err, &ue), "%+v: %v", bad, err)
	}
}

func TestReadTimes(t *testing.T) {
	t.Parallel()
	got, err := readTimes(strings.NewReader("# times\n2026-11-20T10:00:00Z\n\n2026-11-20T10:00:00Z\n 2026-11-19T10:00:00+01:00 \n"))
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Equal(t, "2026-11-20T10:00:00Z#4", got[1].ID, "duplicate times get distinct ids")
	_, err = readTimes(strings.NewReader("2026-11-20T10:00:00Z\nyesterday\n"))
	require.ErrorContains(t, err, "line 2")
}

func TestReadTimesVerifyStatus(t *testing.T) {
	t.Parallel()
	got, err := readTimes(strings.NewReader("2026-11-20T10:00:00Z ok\n2026-11-21T10:00:00Z\tcorrupt\n2026-11-22T10:00:00Z\n"))
	require.NoError(t, err)
	require.Equal(t, []sdk.VerifyStatus{sdk.VerifyOK, sdk.VerifyCorrupt, ""},
		[]sdk.VerifyStatus{got[0].VerifyStatus, got[1].VerifyStatus, got[2].VerifyStatus})
	require.Equal(t, "2026-11-20T10:00:00Z", got[0].ID, "the id is the time alone")
	for _, bad := range []string{"2026-11-20T10:00:00Z fine\n", "2026-11-20T10:00:00Z ok extra\n"} {
		_, err = readTimes(strings.NewReader(bad))
		var ue *cmdutil.UsageError
		require.True(t, errors.As(err, &ue), "%q: %v", bad, err)
		require.ErrorContains(t, err, "line 1")
	}
}

func TestReadTimesParent(t *testing.T) {
	t.Parallel()
	got, err := readTimes(strings.NewReader("# a chain\n2026-11-18T02:00:00Z ok\n2026-11-19T02:00:00Z parent=2\n" +
		"2026-11-20T02:00:00Z parent=3 failed\n"))
	require.NoError(t, err)
	require.Equal(t, []string{"", "2026-11-18T02:00:00Z", "2026-11-19T02:00:00Z"},
		[]string{got[0].ParentID, got[1].ParentID, got[2].ParentID})
	require.Equal(t, sdk.VerifyFailed, got[2].VerifyStatus)
	for _, bad := range []string{
		"2026-11-20T02:00:00Z parent=1\n",                                  // itself
		"2026-11-20T02:00:00Z parent=7\n",                                  // no such line
		"# comment\n2026-11-20T02:00:00Z\n2026-11-21T02:00:00Z parent=1\n", // a comment line
		"2026-11-20T02:00:00Z parent=x\n",
		"2026-11-20T02:00:00Z parent=0\n",
		"2026-11-20T02:00:00Z\n2026-11-21T02:00:00Z parent=1 parent=1\n",
	} {
		_, err = readTimes(strings.NewReader(bad))
		var ue *cmdutil.UsageError
		require.True(t, errors.As(err, &ue), "%q: %v", bad, err)
	}
}

func FuzzReadTimes(f *testing.F) {
	f.Add("2026-11-18T02:00:00Z ok\n2026-11-19T02:00:00Z parent=1\n")
	f.Add("2026-11-19T02:00:00Z parent=1 corrupt\n# x\n\n")
	f.Add("2026-11-19T02:00:00Z parent=99999999999999999999\n")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := readTimes(strings.NewReader(in))
		if err != nil {
			var ue *cmdutil.UsageError
			require.True(t, errors.As(err, &ue) || strings.Contains(err.Error(), "read --timestamps"), "%v", err)
			return
		}
		ids := map[string]bool{}
		for _, s := range got {
			require.False(t, ids[s.ID], "ids are unique")
			ids[s.ID] = true
		}
		for _, s := range got {
			require.True(t, s.ParentID == "" || (ids[s.ParentID] && s.ParentID != s.ID), "parent %q names another snapshot", s.ParentID)
		}
	})
}
