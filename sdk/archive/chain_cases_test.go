package archive

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func baseTree() ttree {
	return ttree{
		"srv": tdir(0o755, 1), "srv/w": tdir(0o755, 2),
		"srv/w/a": tfile("alpha", 0o644, 3), "srv/w/run.sh": tfile("#!/bin/sh\n", 0o755, 4),
		"srv/w/empty": tfile("", 0o600, 5), "srv/w/l": tlink("a"),
		"srv/w/d": tdir(0o750, 6), "srv/w/d/e": tdir(0o755, 7), "srv/w/d/e/f": tfile("f", 0o644, 8),
		"srv/w/d/g": tfile("g", 0o644, 9), "srv/w/s": tdir(0o755, 10), "srv/w/s/old": tfile("old", 0o4755, 11),
	}
}

// TestChainCases replays hand-made chains with GNU tar and with the
// ChainReader and compares both with the tree each chain should restore.
func TestChainCases(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		steps []func(ttree) // each makes the next incremental's tree
	}{
		{"rename", []func(ttree){func(tr ttree) {
			tr["srv/w/a-new"] = tr["srv/w/a"]
			delete(tr, "srv/w/a")
		}}},
		{"deleted directory tree", []func(ttree){func(tr ttree) { tr.removeTree("srv/w/d") }}},
		{"unchanged from two levels back", []func(ttree){
			func(tr ttree) { tr["srv/w/a"] = tfile("alpha 2", 0o644, 30) },
			func(tr ttree) { tr["srv/w/d/g"] = tfile("g 3", 0o644, 40) },
		}},
		{"symlink retarget", []func(ttree){func(tr ttree) { tr["srv/w/l"] = tlink("run.sh") }}},
		{"chmod only and empty file", []func(ttree){func(tr ttree) {
			tr["srv/w/run.sh"] = tfile("#!/bin/sh\n", 0o700, 4)
			tr["srv/w/new-empty"] = tfile("", 0o644, 50)
		}}},
		{"nothing changed", []func(ttree){func(ttree) {}, func(ttree) {}}},
		{"directory emptied then refilled", []func(ttree){
			func(tr ttree) { tr.removeTree("srv/w/s"); tr["srv/w/s"] = tdir(0o755, 60) },
			func(tr ttree) { tr["srv/w/s/old"] = tfile("back", 0o644, 61) },
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cb := &chainBuilder{t: t, roots: []string{"srv/w"}}
			tr := baseTree()
			cb.full("snp_0", tr)
			for i, step := range tc.steps {
				tr = tr.clone()
				step(tr)
				cb.incr(fmt.Sprintf("snp_%d", i+1), tr, incrOpts{})
			}
			requireRestores(t, cb, tr)
		})
	}
}

// TestChainCorrection: a stored child vanished while read; the directory is
// repeated at the end with a dumpdir that drops it, so neither GNU tar nor
// the ChainReader keeps the parent level's stale copy.
func TestChainCorrection(t *testing.T) {
	t.Parallel()
	build := func(o incrOpts) (*chainBuilder, ttree) {
		cb := &chainBuilder{t: t, roots: []string{"srv/w"}}
		a := baseTree()
		cb.full("snp_a", a)
		b := a.clone()
		b["srv/w/a"] = tfile("alpha edited, then gone", 0o644, 70)
		b["srv/w/d/g"] = tfile("g edited", 0o644, 71)
		cb.incr("snp_b", b, o)
		delete(b, "srv/w/a")
		return cb, b
	}
	cb, want := build(incrOpts{vanish: []string{"srv/w/a"}})
	require.Len(t, dumpdirsOf(t, cb.links[1]), 4)
	requireRestores(t, cb, want)

	// Without the correction GNU tar keeps the stale copy and the
	// ChainReader refuses: the dumpdir promises a file the artifact lacks.
	cb, want = build(incrOpts{vanish: []string{"srv/w/a"}, noCorrection: true})
	requireTools(t, "age", "zstd", "tar")
	byTar := readTree(t, replayWithTar(t, cb.links))
	require.Equal(t, "alpha", byTar["srv/w/a"].body)
	_, err := assemble(t, cb.chainLinks(nil), ChainOptions{})
	require.ErrorContains(t, err, "chain broken: the dumpdir of files/srv/w in snapshot snp_b lists files/srv/w/a as stored, but the artifact does not hold it")
	_ = want
}

// TestChainFileRoot: a configured path that is a regular file has no
// dumpdir above it; unchanged, it is in no incremental, and both GNU tar and
// the ChainReader take it from the newest artifact that holds it.
func TestChainFileRoot(t *testing.T) {
	t.Parallel()
	cb := &chainBuilder{t: t, roots: []string{"srv/w", "etc/app.conf"}}
	a := baseTree()
	a["etc"] = tdir(0o755, 80)
	a["etc/app.conf"] = tfile("v1", 0o644, 81)
	cb.full("snp_a", a)
	b := a.clone()
	b["etc/app.conf"] = tfile("v2", 0o644, 82)
	cb.incr("snp_b", b, incrOpts{})
	c := b.clone()
	c["srv/w/a"] = tfile("alpha 3", 0o644, 83)
	cb.incr("snp_c", c, incrOpts{})
	requireRestores(t, cb, c)
}

// TestChainPaths: --path selects a subtree; an artifact the selection does
// not need is never opened.
func TestChainPaths(t *testing.T) {
	t.Parallel()
	cb, full := workedExample(t)
	for _, tc := range []struct {
		paths  []string
		opened []string
	}{
		{[]string{"srv/w/d"}, []string{"snp_c"}},
		{[]string{"/srv/w/a"}, []string{"snp_c", "snp_b"}},
		{[]string{"files/srv/w/d/y"}, []string{"snp_c", "snp_b", "snp_a"}}, // files/files/srv/… may lie outside
		{[]string{"srv"}, []string{"snp_c", "snp_b", "snp_a"}},             // outside every dumpdir: all are read
	} {
		opened := map[string]int{}
		a, err := assemble(t, cb.chainLinks(opened), ChainOptions{Paths: tc.paths})
		require.NoError(t, err, tc.paths)
		want := ttree{}
		for k, v := range full {
			if Selected(tc.paths, FileEntry("/"+k)) {
				want[k] = v
			}
		}
		got := readTree(t, a.dir)
		for k := range got {
			if !Selected(tc.paths, FileEntry("/"+k)) {
				delete(got, k) // parents GNU tar made to extract below them
			}
		}
		require.Equal(t, want, got, tc.paths)
		require.ElementsMatch(t, tc.opened, slices.Collect(mapKeys(opened)), tc.paths)
	}
}

func mapKeys(m map[string]int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestChain64Links: the longest chain the hub plans (a full and 63
// incrementals), random edits at every step, two roots.
func TestChain64Links(t *testing.T) {
	t.Parallel()
	seed := uint64(12)
	rng := rand.New(rand.NewPCG(seed, 64))
	cb := &chainBuilder{t: t, roots: []string{"srv/w", "opt/app"}}
	tr := baseTree()
	tr["opt"], tr["opt/app"] = tdir(0o755, 1), tdir(0o755, 2)
	cb.full("snp_00", tr)
	for i := 1; i < 64; i++ {
		tr = tr.clone()
		mutate(rng, tr, i)
		cb.incr(fmt.Sprintf("snp_%02d", i), tr, incrOpts{})
	}
	t.Logf("seed %d: %d entries at the tip", seed, len(tr))
	requireRestores(t, cb, tr)
}

// mutate applies a few random edits of the correction matrix to tr.
func mutate(rng *rand.Rand, tr ttree, step int) {
	dirs := []string{"srv/w", "srv/w/d", "srv/w/s", "opt/app"}
	for range 1 + rng.IntN(4) {
		dir := dirs[rng.IntN(len(dirs))]
		if _, ok := tr[dir]; !ok {
			tr[dir] = tdir(0o755, step*10)
		}
		name := fmt.Sprintf("%s/n%d", dir, rng.IntN(6))
		switch rng.IntN(6) {
		case 0, 1:
			if old, ok := tr[name]; !ok || old.typ != 'd' {
				tr[name] = tfile(fmt.Sprintf("step %d", step), 0o644, step*10+1)
			}
		case 2:
			tr.removeTree(name)
		case 3:
			tr.removeTree(name)
			tr[name] = tdir(0o755, step*10+2)
			tr[name+"/inner"] = tfile("inner", 0o600, step*10+3)
		case 4:
			if old, ok := tr[name]; !ok || old.typ != 'd' {
				tr[name] = tlink(fmt.Sprintf("target-%d", step))
			}
		case 5:
			if dir != "srv/w" && dir != "opt/app" && rng.IntN(3) == 0 {
				tr.removeTree(dir)
			}
		}
	}
}
