package incremental

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/xvault/xvault/sdk/archive"
)

// TestPlanRules changes one thing of the tree srv/w/{a,b,d/,d/x,l,e}
// against its full and checks the action of the changed entry.
func TestPlanRules(t *testing.T) {
	t.Parallel()
	tree := append(worked(), l("srv/w/l", "a"), f("srv/w/e", 0))
	cases := []struct {
		name, path string
		kind       string // listing kind of both runs
		change     func(*Record)
		want       Action
	}{
		{"unchanged file", "srv/w/a", ListingFind, func(*Record) {}, ActionSkip},
		{"unchanged symlink (symlinks are always emitted)", "srv/w/l", ListingFind, func(*Record) {}, ActionEmit},
		{"unchanged empty file", "srv/w/e", ListingFind, func(*Record) {}, ActionSkip},
		{"size", "srv/w/a", ListingFind, func(r *Record) { r.Size++ }, ActionStore},
		{"mtime ns", "srv/w/a", ListingFind, func(r *Record) { r.MtimeNS++ }, ActionStore},
		{"mode", "srv/w/a", ListingFind, func(r *Record) { r.Mode = 0o600 }, ActionStore},
		{"uid", "srv/w/a", ListingFind, func(r *Record) { r.UID++ }, ActionStore},
		{"gid", "srv/w/a", ListingFind, func(r *Record) { r.GID++ }, ActionStore},
		{"ctime", "srv/w/a", ListingFind, func(r *Record) { r.CtimeNS += 5 }, ActionStore},
		{"inode", "srv/w/a", ListingFind, func(r *Record) { r.Inode++ }, ActionStore},
		{"nlink", "srv/w/a", ListingFind, func(r *Record) { r.Nlink = 2 }, ActionStore},
		{"target", "srv/w/l", ListingFind, func(r *Record) { r.Target = "b" }, ActionEmit},
		{"symlink owner", "srv/w/l", ListingFind, func(r *Record) { r.UID = 0 }, ActionEmit},
		{"empty file mtime", "srv/w/e", ListingFind, func(r *Record) { r.MtimeNS += 1e9 }, ActionEmit},
		{"file emptied", "srv/w/a", ListingFind, func(r *Record) { r.Size = 0 }, ActionEmit},
		{"unchanged dir", "srv/w/d", ListingFind, func(*Record) {}, ActionEmit},
		{"sftp unchanged", "srv/w/a", ListingSFTP, func(*Record) {}, ActionSkip},
		{"sftp size", "srv/w/a", ListingSFTP, func(r *Record) { r.Size++ }, ActionStore},
		{"sftp mtime second", "srv/w/a", ListingSFTP, func(r *Record) { r.MtimeNS += 1e9 }, ActionStore},
		{"sftp mode", "srv/w/a", ListingSFTP, func(r *Record) { r.Mode = 0o600 }, ActionStore},
		{"sftp uid", "srv/w/a", ListingSFTP, func(r *Record) { r.UID++ }, ActionStore},
		{"sftp gid", "srv/w/a", ListingSFTP, func(r *Record) { r.GID++ }, ActionStore},
		{"sftp target", "srv/w/l", ListingSFTP, func(r *Record) { r.Target = "b" }, ActionEmit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			old := tree
			if tc.kind == ListingSFTP {
				old = sftpOf(tree)
			}
			p := plan(t, indexOf(t, tc.kind, old), tc.kind, with(old, tc.path, tc.change))
			got := actions(p)
			require.Equal(t, tc.want, got[tc.path])
			for path, a := range got {
				if path != tc.path && a != ActionEmit {
					require.Equal(t, ActionSkip, a, "%s is unchanged", path)
				}
			}
			require.Empty(t, p.Deleted)
			require.Empty(t, p.Warnings)
		})
	}
}

func TestPlanTypeChange(t *testing.T) {
	t.Parallel()
	// file a -> directory a/ holding n; directory d/ -> file d.
	cur := []Record{d("srv"), d("srv/w"), d("srv/w/a"), f("srv/w/a/n", 4), f("srv/w/b", 3), f("srv/w/d", 9)}
	p := plan(t, indexOf(t, ListingFind, worked()), ListingFind, cur)
	require.Equal(t, map[string]Action{"srv": ActionEmit, "srv/w": ActionEmit, "srv/w/a": ActionEmit,
		"srv/w/a/n": ActionStore, "srv/w/b": ActionSkip, "srv/w/d": ActionStore}, actions(p))
	require.Equal(t, map[string]string{"srv/w": "Da\x00Nb\x00Yd\x00\x00", "srv/w/a": "Yn\x00\x00"}, dumpdirs(p))
	require.Equal(t, []string{"srv/w/d/x"}, p.Deleted)
	require.Equal(t, 1, p.Counts.Deleted)
}

func TestPlanRename(t *testing.T) {
	t.Parallel()
	cur := with(worked(), "srv/w/b", func(r *Record) { r.Path = "srv/w/c" })
	p := plan(t, indexOf(t, ListingFind, worked()), ListingFind, cur)
	require.Equal(t, ActionStore, actions(p)["srv/w/c"])
	require.Equal(t, "Na\x00Yc\x00Dd\x00\x00", dumpdirs(p)["srv/w"])
	require.Equal(t, []string{"srv/w/b"}, p.Deleted)
}

func TestPlanDeleted(t *testing.T) {
	t.Parallel()
	tree := append(worked(), d("srv/w/d/y"), f("srv/w/d/y/z", 1), d("srv/w/e"), f("srv/w/e/q", 1))
	cur := without(without(tree, "srv/w/d"), "srv/w/e/q")
	p := plan(t, indexOf(t, ListingFind, tree), ListingFind, cur)
	require.Equal(t, []string{"srv/w/d", "srv/w/e/q"}, p.Deleted, "only the top of a deleted tree")
	require.Equal(t, 5, p.Counts.Deleted)
	require.Equal(t, "Na\x00Nb\x00De\x00\x00", dumpdirs(p)["srv/w"])
	require.Equal(t, "\x00", dumpdirs(p)["srv/w/e"], "an empty directory")
}

func TestPlanDeletedTruncated(t *testing.T) {
	t.Parallel()
	tree := []Record{d("srv"), d("srv/w")}
	for i := range MaxDeleted + 5 {
		tree = append(tree, f(fmt.Sprintf("srv/w/f%05d", i), 1))
	}
	p := plan(t, indexOf(t, ListingFind, tree), ListingFind, tree[:2])
	require.Len(t, p.Deleted, MaxDeleted)
	require.Equal(t, 5, p.DeletedTruncated)
	require.Equal(t, MaxDeleted+5, p.Counts.Deleted)
	require.Equal(t, "srv/w/f00000", p.Deleted[0])
}

// TestPlanWorkedExample is the worked example of docs/incremental.md,
// section 3: full A, then B and C with their dumpdirs.
func TestPlanWorkedExample(t *testing.T) {
	t.Parallel()
	a := plan(t, nil, ListingFind, worked())
	require.True(t, a.Full)
	require.Empty(t, dumpdirs(a), "a full carries no dumpdir")
	for _, e := range a.Entries {
		want := ActionEmit
		if e.Record.Type == TypeFile {
			want = ActionStore
		}
		require.Equal(t, want, e.Action, e.Record.Path)
	}
	idxA := a.Index(testHeader(testIDs, ListingFind))

	b := []Record{d("srv"), d("srv/w"), f("srv/w/a", 2), f("srv/w/d", 5)}
	b[2].MtimeNS += 1e9 // a edited (a2)
	pb := plan(t, idxA, ListingFind, slices.Clone(b))
	require.Equal(t, map[string]string{"srv/w": "Ya\x00Yd\x00\x00"}, dumpdirs(pb))
	require.Equal(t, map[string]Action{"srv": ActionEmit, "srv/w": ActionEmit, "srv/w/a": ActionStore,
		"srv/w/d": ActionStore}, actions(pb))
	require.Equal(t, []string{"srv/w/b", "srv/w/d/x"}, pb.Deleted)
	idxB := pb.Index(testHeader(IDs{"ten_1", "src_1", "snp_b"}, ListingFind))

	c := []Record{d("srv"), d("srv/w"), b[2], d("srv/w/d"), f("srv/w/d/y", 1)}
	pc := plan(t, idxB, ListingFind, c)
	require.Equal(t, map[string]string{"srv/w": "Na\x00Dd\x00\x00", "srv/w/d": "Yy\x00\x00"}, dumpdirs(pc))
	require.Equal(t, ActionSkip, actions(pc)["srv/w/a"])
	require.Empty(t, pc.Deleted)
	require.Equal(t, Counts{Stored: 1, Emitted: 3, Unchanged: 1}, pc.Counts)
}

func TestPlanFullOrder(t *testing.T) {
	t.Parallel()
	// Pre-order as find lists it (not path order): entries keep it.
	listing := []Record{d("srv"), d("srv/w"), d("srv/w/z"), f("srv/w/z/1", 1), f("srv/w/a-b", 1), d("srv/w/a"),
		f("srv/w/a/x", 1)}
	p := plan(t, nil, ListingSFTP, sftpOf(listing))
	var got []string
	for _, e := range p.Entries {
		got = append(got, e.Record.Path)
	}
	want := make([]string, 0, len(listing))
	for _, r := range listing {
		want = append(want, r.Path)
	}
	require.Equal(t, want, got)
	idx := p.Index(Header{})
	require.True(t, slices.IsSortedFunc(idx.Records, func(a, b Record) int {
		return cmpString(a.Path, b.Path)
	}))
	require.Equal(t, ListingSFTP, idx.Header.Listing)
	require.Equal(t, len(listing), idx.Header.Entries)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestPlanRereadFlagForcesRead(t *testing.T) {
	t.Parallel()
	idx := indexOf(t, ListingFind, worked())
	for i := range idx.Records {
		if idx.Records[i].Path == "srv/w/a" {
			idx.Records[i].Flags |= FlagReread
		}
	}
	p := plan(t, idx, ListingFind, worked())
	require.Equal(t, ActionStore, actions(p)["srv/w/a"])
	require.Equal(t, ActionSkip, actions(p)["srv/w/b"])
	for _, r := range p.Index(Header{}).Records {
		require.Zero(t, r.Flags&FlagReread, "%s: the new index clears the flag", r.Path)
	}
}

func TestPlanMultipleRoots(t *testing.T) {
	t.Parallel()
	// Parents of all roots first, then each root.
	listing := []Record{d("etc"), d("var"), d("var/www"), d("var/www/a"), f("var/www/a/1", 1),
		d("etc/nginx"), f("etc/nginx/n.conf", 1), d("var/lib"), f("var/lib/x", 1)}
	p1, err := NewPlan(PlanParams{Listing: slices.Clone(listing), Roots: []string{"var/www", "etc/nginx", "var/lib"},
		Kind: ListingFind, ListingStart: start})
	require.NoError(t, err)
	idx := p1.Index(testHeader(testIDs, ListingFind))
	p2, err := NewPlan(PlanParams{Parent: idx, Listing: listing, Roots: []string{"var/www", "etc/nginx", "var/lib"},
		Kind: ListingFind, ListingStart: start})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"var/www": "Da\x00\x00", "var/www/a": "N1\x00\x00",
		"etc/nginx": "Nn.conf\x00\x00", "var/lib": "Nx\x00\x00"}, dumpdirs(p2))
}

func TestPlanDumpdirTooLarge(t *testing.T) {
	t.Parallel()
	tree := []Record{d("srv"), d("srv/w")}
	long := string(slices.Repeat([]byte("n"), 240))
	for i := range 4200 {
		tree = append(tree, f(fmt.Sprintf("srv/w/%s%05d", long, i), 1))
	}
	_, err := NewPlan(PlanParams{Parent: indexOf(t, ListingFind, tree), Listing: tree, Roots: []string{"srv/w"},
		Kind: ListingFind, ListingStart: start})
	require.ErrorIs(t, err, archive.ErrDumpdirTooLarge)
	require.ErrorContains(t, err, `plan: directory "srv/w": `)
}

func TestPlanKeepsListingOrder(t *testing.T) {
	t.Parallel()
	listing := genTree(5000) // shuffled children, as find lists them
	run := func(parent *Index) *Plan {
		p, err := NewPlan(PlanParams{Parent: parent, Listing: slices.Clone(listing), Roots: []string{"var/www"},
			Kind: ListingFind, ListingStart: start})
		require.NoError(t, err)
		return p
	}
	p := run(nil)
	require.Len(t, p.Entries, len(listing))
	for i, e := range p.Entries {
		require.Equal(t, listing[i], *e.Record)
	}
	recs := p.Index(Header{}).Records
	require.True(t, slices.IsSortedFunc(recs, func(a, b Record) int { return cmpString(a.Path, b.Path) }))
	next := run(p.Index(testHeader(testIDs, ListingFind)))
	require.Equal(t, 5000-next.Counts.Emitted, next.Counts.Unchanged)
}
