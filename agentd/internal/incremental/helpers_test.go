package incremental

import (
	"bufio"
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// start is the listing start of the test listings; base is long before it.
var (
	start = time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC)
	base  = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC).UnixNano()
)

// Record makers: find records (exec fields set) with stable defaults. The
// inode comes from the path so each test listing is reproducible.
func d(path string) Record { return mk(TypeDir, path, 0, 0o755) }

func f(path string, size int64) Record { return mk(TypeFile, path, size, 0o644) }

func l(path, target string) Record {
	r := mk(TypeSymlink, path, 0, 0o777)
	r.Target = target
	return r
}

func mk(t Type, path string, size int64, mode uint32) Record {
	var ino uint64 = 1469598103934665603
	for i := 0; i < len(path); i++ {
		ino = (ino ^ uint64(path[i])) * 1099511628211
	}
	return Record{Path: path, Type: t, Flags: FlagExec, Size: size, MtimeNS: base, CtimeNS: base,
		Inode: ino >> 16, Mode: mode, UID: 1000, GID: 1000, Nlink: 1}
}

// sftpOf turns find records into what an SFTP walk lists: whole seconds,
// no ctime, inode or nlink.
func sftpOf(recs []Record) []Record {
	out := slices.Clone(recs)
	for i := range out {
		r := &out[i]
		r.MtimeNS = seconds(r.MtimeNS) * 1e9
		r.CtimeNS, r.Inode, r.Nlink, r.Flags = 0, 0, 0, r.Flags&^FlagExec
	}
	return out
}

// worked is the Monday tree of the worked example of docs/incremental.md.
func worked() []Record {
	return []Record{d("srv"), d("srv/w"), f("srv/w/a", 2), f("srv/w/b", 3), d("srv/w/d"), f("srv/w/d/x", 1)}
}

var testIDs = IDs{TenantID: "ten_1", SourceID: "src_1", SnapshotID: "snp_a"}

func testHeader(ids IDs, kind string) Header {
	return Header{TenantID: ids.TenantID, SourceID: ids.SourceID, SnapshotID: ids.SnapshotID,
		FullSnapshotID: ids.SnapshotID, ConfigHash: ConfigHash([]string{"srv/w"}, nil), Listing: kind,
		TarFlavour: "gnu", ListingStart: start, CreatedAt: start.Add(time.Minute)}
}

// plan runs NewPlan for the roots ["srv/w"] on a copy of listing and
// fails the test on error.
func plan(t testing.TB, parent *Index, kind string, listing []Record) *Plan {
	t.Helper()
	p, err := NewPlan(PlanParams{Parent: parent, Listing: slices.Clone(listing), Roots: []string{"srv/w"},
		Kind: kind, ListingStart: start})
	require.NoError(t, err)
	return p
}

// indexOf is the index a full of listing would write.
func indexOf(t testing.TB, kind string, listing []Record) *Index {
	t.Helper()
	return plan(t, nil, kind, listing).Index(testHeader(testIDs, kind))
}

// actions maps each planned path to its action.
func actions(p *Plan) map[string]Action {
	m := make(map[string]Action, len(p.Entries))
	for _, e := range p.Entries {
		m[e.Record.Path] = e.Action
	}
	return m
}

// dumpdirs maps each directory with a dumpdir to it.
func dumpdirs(p *Plan) map[string]string {
	m := make(map[string]string)
	for _, e := range p.Entries {
		if e.Dumpdir != "" {
			m[e.Record.Path] = e.Dumpdir
		}
	}
	return m
}

// with returns listing with the record at path replaced by fn's result.
func with(listing []Record, path string, fn func(*Record)) []Record {
	out := slices.Clone(listing)
	for i := range out {
		if out[i].Path == path {
			fn(&out[i])
			return out
		}
	}
	panic("no record " + path)
}

// without returns listing without path and everything below it.
func without(listing []Record, path string) []Record {
	return slices.DeleteFunc(slices.Clone(listing), func(r Record) bool {
		return r.Path == path || strings.HasPrefix(r.Path, path+"/")
	})
}

// rawPlain writes a plain index without any check, so tests can make
// invalid ones: count < 0 writes len(recs).
func rawPlain(t testing.TB, h Header, recs []Record, count int) []byte {
	t.Helper()
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	hj, err := json.Marshal(&h)
	require.NoError(t, err)
	w.WriteString(indexMagic)
	w.WriteByte(indexVersion)
	writeUvarint(w, uint64(len(hj)))
	w.Write(hj)
	prev := ""
	var scratch []byte
	for i := range recs {
		scratch = writeRecord(w, scratch, prev, &recs[i])
		prev = recs[i].Path
	}
	w.WriteByte(0)
	if count < 0 {
		count = len(recs)
	}
	writeUvarint(w, uint64(count))
	require.NoError(t, w.Flush())
	return b.Bytes()
}
