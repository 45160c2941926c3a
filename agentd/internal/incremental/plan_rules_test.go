package incremental

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPlanRacy(t *testing.T) {
	t.Parallel()
	s := start.UnixNano()
	cases := []struct {
		name   string
		kind   string
		change func(*Record)
		racy   bool
		future bool
	}{
		{"find mtime 1s before", ListingFind, func(r *Record) { r.MtimeNS = s - 1e9 }, true, false},
		{"find mtime 2s before", ListingFind, func(r *Record) { r.MtimeNS = s - 2e9 }, true, false},
		{"find mtime 2s+1ns before", ListingFind, func(r *Record) { r.MtimeNS = s - 2e9 - 1 }, false, false},
		{"find ctime 1s before", ListingFind, func(r *Record) { r.CtimeNS = s - 1e9 }, true, false},
		{"find future mtime", ListingFind, func(r *Record) { r.MtimeNS = s + 3600e9 }, true, true},
		{"sftp mtime 59s before", ListingSFTP, func(r *Record) { r.MtimeNS = s - 59e9 }, true, false},
		{"sftp mtime 60s before", ListingSFTP, func(r *Record) { r.MtimeNS = s - 60e9 }, true, false},
		{"sftp mtime 61s before", ListingSFTP, func(r *Record) { r.MtimeNS = s - 61e9 }, false, false},
		{"sftp mtime 3s before", ListingSFTP, func(r *Record) { r.MtimeNS = s - 3e9 }, true, false},
		{"sftp future mtime", ListingSFTP, func(r *Record) { r.MtimeNS = s + 86400e9 }, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			listing := worked()
			if tc.kind == ListingSFTP {
				listing = sftpOf(listing)
			}
			listing = with(listing, "srv/w/a", tc.change)
			p := plan(t, nil, tc.kind, listing)
			flagged := map[string]bool{}
			for _, r := range p.Index(Header{}).Records {
				flagged[r.Path] = r.Flags&FlagReread != 0
			}
			require.Equal(t, tc.racy, flagged["srv/w/a"])
			require.False(t, flagged["srv/w/b"])
			require.Equal(t, map[bool]int{true: 1, false: 0}[tc.racy], p.Counts.Racy)
			require.Equal(t, map[bool]int{true: 1, false: 0}[tc.future], p.Counts.Future)
			// The next run reads it again although nothing changed.
			next := plan(t, p.Index(testHeader(testIDs, tc.kind)), tc.kind, listing)
			want := ActionSkip
			if tc.racy {
				want = ActionStore
			}
			require.Equal(t, want, actions(next)["srv/w/a"])
		})
	}
}

// remountTree has n files under srv/w.
func remountTree(n int) []Record {
	tree := []Record{d("srv"), d("srv/w")}
	for i := range n {
		tree = append(tree, f(fmt.Sprintf("srv/w/f%03d", i), 10))
	}
	return tree
}

func shiftInodes(recs []Record, n int) []Record {
	out := slices.Clone(recs)
	for i := range out[:n] {
		out[i].Inode += 1 << 40
	}
	return out
}

func TestPlanRemount(t *testing.T) {
	t.Parallel()
	tree := remountTree(98) // 100 entries with srv and srv/w
	parent := indexOf(t, ListingFind, tree)
	t.Run("all inodes shifted", func(t *testing.T) {
		t.Parallel()
		cur := shiftInodes(tree, len(tree))
		p := plan(t, parent, ListingFind, cur)
		require.Equal(t, []string{"incremental: 100 of 100 entries changed only their inode (remount?): " +
			"inodes ignored for this run"}, p.Warnings)
		require.Equal(t, 0, p.Counts.Stored)
		require.Equal(t, 98, p.Counts.Unchanged)
		require.Equal(t, cur[5].Inode, p.Index(Header{}).Records[5].Inode, "the new index has the new inodes")
	})
	t.Run("90 percent, one real change", func(t *testing.T) {
		t.Parallel()
		cur := shiftInodes(tree, 90)
		cur[95].Size = 11
		p := plan(t, parent, ListingFind, cur)
		require.Len(t, p.Warnings, 1)
		require.Contains(t, p.Warnings[0], "90 of 100 entries")
		require.Equal(t, 1, p.Counts.Stored, "only the real change")
	})
	t.Run("89 percent", func(t *testing.T) {
		t.Parallel()
		p := plan(t, parent, ListingFind, shiftInodes(tree, 89))
		require.Empty(t, p.Warnings)
		require.Equal(t, 87, p.Counts.Stored, "an inode change is a real change (srv, srv/w are emitted)")
	})
	t.Run("sftp has no inodes", func(t *testing.T) {
		t.Parallel()
		p := plan(t, indexOf(t, ListingSFTP, sftpOf(tree)), ListingSFTP, sftpOf(tree))
		require.Empty(t, p.Warnings)
		require.Equal(t, 98, p.Counts.Unchanged)
	})
}

func TestThousands(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 41020: "41,020", 41500: "41,500",
		1234567: "1,234,567", -1234: "-1,234"} {
		require.Equal(t, want, thousands(n))
	}
}

func TestPlanCrossKind(t *testing.T) {
	t.Parallel()
	tree := with(worked(), "srv/w/a", func(r *Record) { r.MtimeNS += 987654321 })
	t.Run("find parent, sftp run", func(t *testing.T) {
		t.Parallel()
		parent := indexOf(t, ListingFind, tree)
		p := plan(t, parent, ListingSFTP, sftpOf(tree))
		require.Equal(t, 3, p.Counts.Unchanged, "seconds equal, no ctime/inode compared")
		cur := with(sftpOf(tree), "srv/w/b", func(r *Record) { r.MtimeNS += 1e9 })
		require.Equal(t, ActionStore, actions(plan(t, parent, ListingSFTP, cur))["srv/w/b"])
	})
	t.Run("sftp parent, find run", func(t *testing.T) {
		t.Parallel()
		parent := indexOf(t, ListingSFTP, sftpOf(tree))
		p := plan(t, parent, ListingFind, tree)
		require.Equal(t, 3, p.Counts.Unchanged)
		require.Empty(t, p.Warnings)
		cur := with(tree, "srv/w/b", func(r *Record) { r.Mode = 0o640 })
		require.Equal(t, ActionStore, actions(plan(t, parent, ListingFind, cur))["srv/w/b"])
	})
}

func TestPlanVanished(t *testing.T) {
	t.Parallel()
	tree := append(worked(), f("srv/w/c", 7), f("srv/w/d/y", 1))
	cur := with(with(tree, "srv/w/a", func(r *Record) { r.Size = 5 }), "srv/w/c", func(r *Record) { r.Size = 8 })
	cur = with(cur, "srv/w/d/y", func(r *Record) { r.Size = 9 })
	p := plan(t, indexOf(t, ListingFind, tree), ListingFind, cur)
	require.Equal(t, "Ya\x00Nb\x00Yc\x00Dd\x00\x00", dumpdirs(p)["srv/w"])

	fix, err := p.Vanished("srv/w/a")
	require.NoError(t, err)
	require.Len(t, fix, 1)
	require.Equal(t, "srv/w", fix[0].Record.Path)
	require.Equal(t, "Nb\x00Yc\x00Dd\x00\x00", fix[0].Dumpdir)

	fix, err = p.Vanished("srv/w/c", "srv/w/d/y", "srv/w/c")
	require.NoError(t, err)
	require.Equal(t, []string{"srv/w", "srv/w/d"}, []string{fix[0].Record.Path, fix[1].Record.Path})
	require.Equal(t, "Nb\x00Dd\x00\x00", fix[0].Dumpdir, "leaves out every vanished child so far")
	require.Equal(t, "Nx\x00\x00", fix[1].Dumpdir)
	require.Equal(t, Counts{Stored: 0, Emitted: 3, Unchanged: 2, Vanished: 3}, p.Counts)

	idx := p.Index(Header{})
	var paths []string
	for _, r := range idx.Records {
		paths = append(paths, r.Path)
	}
	require.Equal(t, []string{"srv", "srv/w", "srv/w/b", "srv/w/d", "srv/w/d/x"}, paths)
	require.Equal(t, 5, idx.Header.Entries)

	_, err = p.Vanished("srv/w/b")
	require.ErrorContains(t, err, `plan: vanished "srv/w/b" was not to be stored`)
	_, err = p.Vanished("srv/w/nope")
	require.ErrorContains(t, err, "is not in the listing")
}

func TestPlanVanishedInFull(t *testing.T) {
	t.Parallel()
	p := plan(t, nil, ListingFind, worked())
	fix, err := p.Vanished("srv/w/b")
	require.NoError(t, err)
	require.Empty(t, fix, "a full has no dumpdir to correct")
	require.Len(t, p.Index(Header{}).Records, 5)
}

func TestPlanReread(t *testing.T) {
	t.Parallel()
	p := plan(t, nil, ListingFind, worked())
	mtime := time.Unix(1_800_000_000, 0)
	require.NoError(t, p.Reread("srv/w/a", 99, mtime))
	var got Record
	for _, r := range p.Index(Header{}).Records {
		if r.Path == "srv/w/a" {
			got = r
		}
	}
	require.Equal(t, int64(99), got.Size)
	require.Equal(t, mtime.UnixNano(), got.MtimeNS)
	require.NotZero(t, got.Flags&FlagReread)
	require.Equal(t, 1, p.Counts.Reread)
	require.ErrorContains(t, p.Reread("srv/w", 1, mtime), "was not to be stored")
}

func TestPlanRefusesListing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		listing []Record
		roots   []string
		want    string
	}{
		{"missing directory", []Record{d("srv"), d("srv/w"), f("srv/w/d/x", 1)}, nil,
			`"srv/w/d/x": its directory "srv/w/d" is not listed`},
		{"child before directory", []Record{d("srv"), f("srv/w/a", 1), d("srv/w")}, nil,
			`"srv/w/a" is listed before its directory`},
		{"parent not a directory", []Record{d("srv"), d("srv/w"), f("srv/w/a", 1), f("srv/w/a/b", 1)}, nil,
			`"srv/w/a" is not a directory`},
		{"duplicate", []Record{d("srv"), d("srv/w"), f("srv/w/a", 1), f("srv/w/a", 2)}, nil,
			`path "srv/w/a" listed twice`},
		{"outside the roots", []Record{d("srv"), d("srv/w"), d("srv/x")}, nil,
			`"srv/x" is neither inside a root nor a parent of one`},
		{"root missing", []Record{d("srv"), d("srv/w")}, []string{"srv/w", "srv/v"}, `root "srv/v" is not listed`},
		{"bad record", []Record{d("srv"), d("srv/w"), {Path: "srv/w/x", Type: TypeDir, Size: 4096}}, nil,
			"listing record 3: \"srv/w/x\": size 4096 not allowed"},
		{"bad root", []Record{d("srv")}, []string{"/srv"}, "plan: root: invalid entry name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			roots := tc.roots
			if roots == nil {
				roots = []string{"srv/w"}
			}
			_, err := NewPlan(PlanParams{Listing: tc.listing, Roots: roots, Kind: ListingFind, ListingStart: start})
			require.ErrorContains(t, err, tc.want)
		})
	}
	_, err := NewPlan(PlanParams{Listing: worked(), Roots: []string{"srv/w"}, Kind: "ftp", ListingStart: start})
	require.ErrorContains(t, err, `unknown listing kind "ftp"`)
	_, err = NewPlan(PlanParams{Listing: worked(), Roots: []string{"srv/w"}, Kind: ListingFind})
	require.ErrorContains(t, err, "listing start time missing")
}

func TestPlanRootIsAFile(t *testing.T) {
	t.Parallel()
	listing := []Record{d("etc"), f("etc/passwd", 10)}
	p1, err := NewPlan(PlanParams{Listing: listing, Roots: []string{"etc/passwd"}, Kind: ListingFind,
		ListingStart: start})
	require.NoError(t, err)
	cur := with(listing, "etc/passwd", func(r *Record) { r.Size = 11 })
	p, err := NewPlan(PlanParams{Parent: p1.Index(testHeader(testIDs, ListingFind)), Listing: cur,
		Roots: []string{"etc/passwd"}, Kind: ListingFind, ListingStart: start})
	require.NoError(t, err)
	require.Empty(t, dumpdirs(p), "the parent of a root gets no dumpdir")
	fix, err := p.Vanished("etc/passwd")
	require.NoError(t, err)
	require.Empty(t, fix)
}

func TestConfigHash(t *testing.T) {
	t.Parallel()
	// printf %s '{"exclude":["*.log","/var/www/cache","<a&b>"],"paths":["var/www","srv"]}' | sha256sum
	const want = "7284a705fc0ed68257ff32719ba9ea3535e543243a6354f6c4ca0e9f3a66956f"
	h := ConfigHash([]string{"var/www", "srv"}, []string{"/var/www/cache", "*.log", "<a&b>", "*.log"})
	require.Equal(t, h, ConfigHash([]string{"var/www", "srv"}, []string{"<a&b>", "*.log", "/var/www/cache"}))
	require.NotEqual(t, h, ConfigHash([]string{"srv", "var/www"}, []string{"<a&b>", "*.log", "/var/www/cache"}),
		"roots keep their order")
	require.Equal(t, ConfigHash([]string{"srv"}, nil), ConfigHash([]string{"srv"}, []string{}))
	require.Equal(t, want, h)
}
