package archive

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// workedExample is docs/incremental.md section 3: Monday full A, Tuesday B
// (a edited, b deleted, directory d replaced by a file), Wednesday C (d a
// directory again, holding y).
func workedExample(t testing.TB) (*chainBuilder, ttree) {
	a := ttree{
		"srv": tdir(0o755, 1), "srv/w": tdir(0o750, 2),
		"srv/w/a": tfile("a1", 0o644, 3), "srv/w/b": tfile("b", 0o600, 4),
		"srv/w/d": tdir(0o700, 5), "srv/w/d/x": tfile("x", 0o644, 6),
	}
	b := a.clone()
	b["srv/w/a"] = tfile("a2", 0o644, 10)
	delete(b, "srv/w/b")
	b.removeTree("srv/w/d")
	b["srv/w/d"] = tfile("d is a file", 0o640, 11)
	b["srv/w"] = tdir(0o750, 12)
	c := b.clone()
	c["srv/w/d"] = tdir(0o755, 20)
	c["srv/w/d/y"] = tfile("y", 0o644, 21)
	c["srv/w"] = tdir(0o750, 22)

	cb := &chainBuilder{t: t, roots: []string{"srv/w"}}
	cb.full("snp_a", a)
	cb.incr("snp_b", b, incrOpts{})
	cb.incr("snp_c", c, incrOpts{})
	return cb, c
}

func TestChainWorkedExample(t *testing.T) {
	t.Parallel()
	cb, want := workedExample(t)
	require.Equal(t, map[string]string{"files/srv/w": "Ya\x00Yd\x00\x00"}, dumpdirsOf(t, cb.links[1]))
	require.Equal(t, map[string]string{"files/srv/w": "Na\x00Dd\x00\x00", "files/srv/w/d": "Yy\x00\x00"}, dumpdirsOf(t, cb.links[2]))
	a := requireRestores(t, cb, want)
	require.Equal(t, LayoutVersion, a.desc.LayoutVersion, "the assembled stream is a whole tree")
	require.Equal(t, "snp_c", a.desc.SnapshotID)
	require.Equal(t, []string{DescriptorName, "files/srv", "files/srv/w", "files/srv/w/d", "files/srv/w/d/y",
		"files/srv/w/a", EndName}, a.names)
}

// dumpdirsOf returns the dumpdir of every directory of an artifact.
func dumpdirsOf(t *testing.T, l link) map[string]string {
	t.Helper()
	entries, _, err := readAll(bytesReader(l.data), identity(t), l.sha)
	require.NoError(t, err)
	out := map[string]string{}
	for _, e := range entries {
		if dd, ok := e.hdr.PAXRecords[DumpdirKey]; ok {
			out[e.hdr.Name] = dd
		}
	}
	return out
}
