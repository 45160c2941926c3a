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
