package output

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAgo(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, ""},
		{now.Add(-300 * time.Millisecond), "just now"},
		{now.Add(-42 * time.Second), "42s ago"},
		{now.Add(-3 * time.Minute), "3m ago"},
		{now.Add(-5 * time.Hour), "5h ago"},
		{now.Add(-47 * time.Hour), "47h ago"},
		{now.Add(-3 * 24 * time.Hour), "3d ago"},
		{now.Add(3 * time.Hour), "in 3h"},
		{now.Add(-30 * 24 * time.Hour), now.Add(-30 * 24 * time.Hour).Local().Format("2006-01-02 15:04")},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Ago(tt.t, now))
	}
}

func TestBytesCountRate(t *testing.T) {
	t.Parallel()
	require.Equal(t, "0 B", Bytes(0))
	require.Equal(t, "1023 B", Bytes(1023))
	require.Equal(t, "1.0 KiB", Bytes(1024))
	require.Equal(t, "1.5 MiB", Bytes(3<<19))
	require.Equal(t, "2.0 GiB", Bytes(2<<30))
	require.Equal(t, "1", Count(1))
	require.Equal(t, "999", Count(999))
	require.Equal(t, "1,000", Count(1000))
	require.Equal(t, "-1,234,567", Count(-1234567))
	require.Equal(t, "10.0 MiB/s", Rate(20<<20, 2*time.Second))
	require.Equal(t, "", Rate(1, 0))
}

func TestParseFormat(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Format{"": FormatTable, "table": FormatTable, "JSON": FormatJSON} {
		got, err := ParseFormat(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	_, err := ParseFormat("yaml")
	require.Error(t, err)
}

func TestTableAndJSON(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	p := &Printer{Format: FormatTable, Out: &b}
	tb := p.Table("ID", "NAME")
	tb.Row("a", "")
	tb.Row("long-id", "x\ty")
	require.NoError(t, tb.Flush())
	require.Equal(t, "ID       NAME\na        -\nlong-id  x y\n", b.String())

	b.Reset()
	require.NoError(t, p.PrintJSON(Items[int](nil)))
	require.Equal(t, "[]\n", b.String())
	b.Reset()
	require.NoError(t, p.PrintJSON(map[string]string{"a": "<b>"}))
	require.Equal(t, "{\n  \"a\": \"<b>\"\n}\n", b.String())
}
