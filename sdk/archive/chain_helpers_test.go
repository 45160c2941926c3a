package archive

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// tnode is one entry of a test tree: what a restore must reproduce.
type tnode struct {
	typ    byte // 'd', 'f' or 'l'
	mode   int64
	mtime  int64 // µs since the epoch (0 for symlinks: not compared)
	body   string
	target string
}

// ttree maps remote paths without the leading slash ("srv/w/a") to entries.
// It holds the parents of the roots too.
type ttree map[string]tnode

var baseTime = time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)

func tdir(mode int64, sec int) tnode { return tnode{typ: 'd', mode: mode, mtime: usec(sec)} }
func tfile(body string, mode int64, sec int) tnode {
	return tnode{typ: 'f', mode: mode, mtime: usec(sec), body: body}
}
func tlink(target string) tnode { return tnode{typ: 'l', target: target} }

func usec(sec int) int64 {
	return baseTime.Add(time.Duration(sec)*time.Second + 123456*time.Microsecond).UnixMicro()
}

func (tr ttree) clone() ttree {
	out := make(ttree, len(tr))
	for k, v := range tr {
		out[k] = v
	}
	return out
}

// removeTree deletes p and everything below it.
func (tr ttree) removeTree(p string) {
	for k := range tr {
		if k == p || strings.HasPrefix(k, p+"/") {
			delete(tr, k)
		}
	}
}

// children lists the direct children of dir, sorted.
func (tr ttree) children(dir string) []string {
	var out []string
	for k := range tr {
		if path.Dir(k) == dir {
			out = append(out, path.Base(k))
		}
	}
	slices.Sort(out)
	return out
}

func nodeHeader(name string, n tnode) *tar.Header {
	h := &tar.Header{Name: FileEntry("/" + name), Mode: n.mode, ModTime: time.UnixMicro(n.mtime),
		Uid: os.Getuid(), Gid: os.Getgid()}
	switch n.typ {
	case 'd':
		h.Typeflag = tar.TypeDir
	case 'f':
		h.Typeflag, h.Size = tar.TypeReg, int64(len(n.body))
	case 'l':
		h.Typeflag, h.Linkname, h.Mode, h.ModTime = tar.TypeSymlink, n.target, 0o777, baseTime
	}
	return h
}

// link is one artifact of a test chain.
type link struct {
	id, sha string
	data    []byte
}

// incrOpts shapes an incremental beyond the plain difference of two trees.
type incrOpts struct {
	vanish       []string // stored (Y) children that are not in the artifact
	noCorrection bool     // leave out the correction dumpdirs of vanish
	// edit rewrites the entries before they are written.
	edit func(entries []entry) []entry
}

// chainBuilder makes artifacts the way the agent will: a full of the first
// tree, then incrementals of each next tree against the previous one.
type chainBuilder struct {
	t     testing.TB
	roots []string
	links []link // oldest first
	prev  ttree
}

func (b *chainBuilder) full(id string, tr ttree) {
	d := Descriptor{LayoutVersion: LayoutVersion, SnapshotID: id, Kind: "full", SourceType: "ssh", Connector: "ssh", CreatedAt: baseTime}
	entries := []entry{jsonEntry(b.t, DescriptorName, d)}
	entries = append(entries, b.walk(tr, nil, nil)...)
	entries = append(entries, jsonEntry(b.t, EndName, End{FinishedAt: baseTime}))
	b.add(id, entries)
	b.prev = tr
}

func (b *chainBuilder) incr(id string, tr ttree, o incrOpts) {
	full := b.links[0].id
	d := Descriptor{LayoutVersion: LayoutIncremental, SnapshotID: id, Kind: "incremental", SourceType: "ssh", Connector: "ssh",
		CreatedAt: baseTime, Incremental: &Incremental{ParentSnapshotID: b.links[len(b.links)-1].id, FullSnapshotID: full,
			ChainPosition: len(b.links), Listing: "sftp", Deleted: deleted(b.prev, tr)}}
	entries := []entry{jsonEntry(b.t, DescriptorName, d)}
	dumpdirs := map[string][]DumpdirChild{}
	entries = append(entries, b.walk(tr, b.prev, dumpdirs)...)
	if len(o.vanish) > 0 {
		entries = slices.DeleteFunc(entries, func(e entry) bool { return slices.Contains(o.vanish, remote(e.hdr.Name)) })
	}
	if !o.noCorrection {
		entries = append(entries, corrections(b.t, tr, dumpdirs, o.vanish)...)
	}
	entries = append(entries, jsonEntry(b.t, EndName, End{FinishedAt: baseTime, Vanished: o.vanish}))
	if o.edit != nil {
		entries = o.edit(entries)
	}
	b.add(id, entries)
	b.prev = tr
}

func (b *chainBuilder) add(id string, entries []entry) {
	data, res := writeArtifact(b.t, entries, Options{})
	b.links = append(b.links, link{id: id, sha: res.SHA256, data: data})
}

// walk lists the parents of the roots, then each root in pre-order. With
// prev != nil (an incremental) it records every dumpdir in dumpdirs and
// leaves out the non-directories equal to prev's.
func (b *chainBuilder) walk(tr, prev ttree, dumpdirs map[string][]DumpdirChild) []entry {
	var out []entry
	seen := map[string]bool{}
	for _, r := range b.roots {
		for i, elems := 1, strings.Split(r, "/"); i < len(elems); i++ {
			p := strings.Join(elems[:i], "/")
			if !seen[p] {
				seen[p] = true
				out = append(out, entry{hdr: *nodeHeader(p, tr[p])})
			}
		}
		out = b.visit(out, tr, prev, dumpdirs, r)
	}
	return out
}

func (b *chainBuilder) visit(out []entry, tr, prev ttree, dumpdirs map[string][]DumpdirChild, p string) []entry {
	n, ok := tr[p]
	require.True(b.t, ok, "root %s missing from the tree", p)
	hdr := nodeHeader(p, n)
	if n.typ != 'd' {
		if old, ok := prev[p]; prev == nil || !ok || old != n {
			out = append(out, entry{hdr: *hdr, body: []byte(n.body)})
		}
		return out
	}
	at := len(out)
	out = append(out, entry{hdr: *hdr})
	var kids []DumpdirChild
	for _, c := range tr.children(p) {
		cp := p + "/" + c
		cn := tr[cp]
		code := DumpdirStored
		switch old, ok := prev[cp]; {
		case cn.typ == 'd':
			code = DumpdirDir
		case ok && old == cn:
			code = DumpdirUnchanged
		}
		kids = append(kids, DumpdirChild{Name: c, Code: code})
		out = b.visit(out, tr, prev, dumpdirs, cp)
	}
	if prev != nil {
		dumpdirs[p] = kids
		dd, err := EncodeDumpdir(kids)
		require.NoError(b.t, err)
		out[at].hdr.PAXRecords = map[string]string{DumpdirKey: dd}
	}
	return out
}

// corrections repeats each directory that lost a vanished child, with the
// child dropped from its dumpdir.
func corrections(t testing.TB, tr ttree, dumpdirs map[string][]DumpdirChild, vanish []string) []entry {
	var out []entry
	for _, v := range vanish {
		dir := path.Dir(v)
		kids := slices.DeleteFunc(slices.Clone(dumpdirs[dir]), func(c DumpdirChild) bool { return c.Name == path.Base(v) })
		dumpdirs[dir] = kids
		dd, err := EncodeDumpdir(kids)
		require.NoError(t, err)
		hdr := nodeHeader(dir, tr[dir])
		hdr.PAXRecords = map[string]string{DumpdirKey: dd}
		out = append(out, entry{hdr: *hdr})
	}
	return out
}

// deleted lists the top-most paths of prev that cur lacks.
func deleted(prev, cur ttree) []string {
	out := []string{}
	for k := range prev {
		if _, ok := cur[k]; ok {
			continue
		}
		if _, parentGone := prev[path.Dir(k)]; parentGone {
			if _, ok := cur[path.Dir(k)]; !ok {
				continue
			}
		}
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func remote(name string) string { return strings.TrimPrefix(name, FilesPrefix) }

func jsonEntry(t testing.TB, name string, v any) entry {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(b)), ModTime: baseTime}, body: b}
}

// chainLinks returns the artifacts tip first, as a ChainReader takes them,
// counting how often each is opened.
func (b *chainBuilder) chainLinks(opened map[string]int) []ChainArtifact {
	var out []ChainArtifact
	for i := len(b.links) - 1; i >= 0; i-- {
		l := b.links[i]
		out = append(out, ChainArtifact{SnapshotID: l.id, SHA256: l.sha, Open: func() (io.ReadCloser, error) {
			if opened != nil {
				opened[l.id]++
			}
			return io.NopCloser(bytes.NewReader(l.data)), nil
		}})
	}
	return out
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
