package cmdutil

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

func TestProgressLine(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var b strings.Builder
	p := &ProgressLine{W: &b, Width: 80, Now: func() time.Time { return now }}

	p.Update(&sdk.Job{ID: "job_1", Status: sdk.JobQueued})
	require.Equal(t, "\rjob_1 queued, waiting for an agent…\x1b[K", b.String())

	b.Reset()
	p.Update(&sdk.Job{ID: "job_1", Status: sdk.JobRunning, Attempt: 1,
		Progress: &sdk.Progress{FilesDone: 1200, BytesRead: 10 << 20, BytesWritten: 4 << 20, CurrentPath: "/var/www/a.php"}})
	require.Equal(t, "\rrunning  1,200 files  10.0 MiB read  4.0 MiB written  /var/www/a.php\x1b[K", b.String())

	b.Reset()
	now = now.Add(2 * time.Second)
	p.Update(&sdk.Job{ID: "job_1", Status: sdk.JobRunning, Attempt: 1,
		Progress: &sdk.Progress{FilesDone: 1300, BytesRead: 30 << 20, BytesWritten: 9 << 20, CurrentPath: "/var/www/" + strings.Repeat("x", 100)}})
	line := strings.TrimSuffix(strings.TrimPrefix(b.String(), "\r"), "\x1b[K")
	require.Contains(t, line, "10.0 MiB/s")
	require.Equal(t, 79, len([]rune(line)), "cut to the terminal width")
	require.True(t, strings.HasSuffix(line, "…"))

	b.Reset()
	p.Clear()
	require.Equal(t, "\r\x1b[K", b.String())
}
