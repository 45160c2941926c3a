package root

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/cli/internal/cmdutil"
)

func TestReorder(t *testing.T) {
	t.Parallel()
	app := New(&cmdutil.Factory{IO: cmdutil.System(), Version: "t"})
	tests := []struct{ in, want []string }{
		{[]string{"xv"}, []string{"xv"}},
		{[]string{"xv", "source", "show", "ID", "-o", "json"}, []string{"xv", "source", "show", "-o", "json", "ID"}},
		{[]string{"xv", "--hub", "http://h", "job", "list", "--status", "queued"},
			[]string{"xv", "--hub", "http://h", "job", "list", "--status", "queued"}},
		{[]string{"xv", "backup", "run", "SRC", "--wait", "--tenant", "T"},
			[]string{"xv", "backup", "run", "--wait", "--tenant", "T", "SRC"}},
		{[]string{"xv", "tenant", "key", "export", "T", "--output=f"}, []string{"xv", "tenant", "key", "export", "--output=f", "T"}},
		{[]string{"xv", "tenant", "create", "--", "-weird"}, []string{"xv", "tenant", "create", "--", "-weird"}},
		{[]string{"xv", "nope", "x", "-o", "json"}, []string{"xv", "nope", "x", "-o", "json"}},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, reorder(app, tt.in), "%v", tt.in)
	}
}
