package archive

import (
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ok   bool
	}{
		{"a", true},
		{"var/www/index.html", true},
		{"données/naïve — 日本語.txt", true},
		{"...", true},
		{"..a/b..", true},
		{".hidden/.x", true},
		{`back\slash`, true}, // an ordinary byte in a POSIX name
		{"with space/ and\ttab", true},
		{"", false},
		{".", false},
		{"..", false},
		{"../a", false},
		{"a/..", false},
		{"a/../b", false},
		{"./a", false},
		{"a/./b", false},
		{"/abs", false},
		{"/", false},
		{"a/", false},
		{"a//b", false},
		{"a\x00b", false},
	}
	for _, tc := range tests {
		err := ValidName(tc.name)
		if tc.ok {
			require.NoError(t, err, "%q", tc.name)
			continue
		}
		require.ErrorIs(t, err, ErrInvalidName, "%q", tc.name)
		require.Contains(t, err.Error(), strings.ReplaceAll(tc.name, "\x00", `\x00`))
	}
}

// FuzzValidName checks ValidName against its definition: a clean, local,
// relative path that names something below the root and holds no NUL.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"a", "a/b", "../a", "/a", "a/", "a//b", ".", "a\x00", "é/ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		want := name != "." && path.Clean(name) == name && filepath.IsLocal(name) &&
			!strings.ContainsRune(name, 0) && !strings.HasPrefix(name, "/")
		err := ValidName(name)
		if want != (err == nil) {
			t.Fatalf("ValidName(%q) = %v, want ok=%v", name, err, want)
		}
		if err != nil {
			return
		}
		for elem := range strings.SplitSeq(name, "/") {
			if elem == ".." || elem == "." || elem == "" {
				t.Fatalf("ValidName(%q) accepted element %q", name, elem)
			}
		}
	})
}
