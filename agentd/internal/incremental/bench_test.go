package incremental

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"filippo.io/age"
	"github.com/stretchr/testify/require"
)

// genTree lists a synthetic web tree of n entries in pre-order under the
// root var/www, as find does (children in a shuffled, readdir-like order):
// sites of nested directories, 12 files and 4 subdirectories each, random
// sizes and ns mtimes (seeded).
func genTree(n int) []Record {
	rng := rand.New(rand.NewPCG(12, uint64(n)))
	recs := make([]Record, 0, n)
	recs = append(recs, d("var"), d("var/www"))
	var walk func(dir string, depth int)
	walk = func(dir string, depth int) {
		kids := rng.Perm(16)
		for _, k := range kids {
			if len(recs) >= n {
				return
			}
			if k >= 12 {
				if depth < 5 {
					sub := fmt.Sprintf("%s/dir-%d", dir, k-12)
					recs = append(recs, d(sub))
					walk(sub, depth+1)
				}
				continue
			}
			r := f(fmt.Sprintf("%s/class-wp-file-%02d.php", dir, k), 1+rng.Int64N(200_000))
			r.MtimeNS = base - rng.Int64N(400*86400e9)
			r.CtimeNS, r.Inode = r.MtimeNS, rng.Uint64N(1<<32)
			recs = append(recs, r)
		}
	}
	for site := 0; len(recs) < n; site++ {
		dir := fmt.Sprintf("var/www/site-%03d", site)
		recs = append(recs, d(dir))
		walk(dir, 0)
	}
	return recs
}

var benchSizes = []struct {
	name string
	n    int
}{{"41.5k", 41_500}, {"1M", 1_000_000}}

func benchIndex(b *testing.B, n int) (*Index, *age.X25519Identity, []byte) {
	p, err := NewPlan(PlanParams{Listing: genTree(n), Roots: []string{"var/www"}, Kind: ListingFind,
		ListingStart: start})
	require.NoError(b, err)
	idx := p.Index(testHeader(testIDs, ListingFind))
	id, enc := encodeIndex(b, idx)
	return idx, id, enc
}

func BenchmarkEncodeIndex(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			idx, id, enc := benchIndex(b, s.n)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				var w bytes.Buffer
				require.NoError(b, Encode(&w, idx, id.Recipient()))
			}
			b.ReportMetric(float64(len(enc)), "file-bytes")
		})
	}
}

func BenchmarkDecodeIndex(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			_, id, enc := benchIndex(b, s.n)
			kept := retained(func() any {
				idx, err := Decode(bytes.NewReader(enc), id, testIDs)
				require.NoError(b, err)
				return idx
			})
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				_, err := Decode(bytes.NewReader(enc), id, testIDs)
				require.NoError(b, err)
			}
			b.ReportMetric(float64(kept)/(1<<20), "heap-MiB")
			b.ReportMetric(float64(len(enc)), "file-bytes")
		})
	}
}

// BenchmarkPlan compares an unchanged listing with its parent (the nightly
// no-change run).
func BenchmarkPlan(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			tree := genTree(s.n)
			parent, _, _ := benchIndex(b, s.n)
			run := func(listing []Record) any {
				p, err := NewPlan(PlanParams{Parent: parent, Listing: listing, Roots: []string{"var/www"},
					Kind: ListingFind, ListingStart: start})
				require.NoError(b, err)
				require.Equal(b, 0, p.Counts.Stored)
				return p
			}
			kept := retained(func() any { return run(slices.Clone(tree)) })
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				listing := slices.Clone(tree) // NewPlan sorts it in place
				b.StartTimer()
				run(listing)
			}
			b.ReportMetric(float64(kept)/(1<<20), "plan-heap-MiB") // with the listing it sorts and keeps
		})
	}
}

// retained is how many heap bytes what fn returns keeps alive.
func retained(fn func() any) uint64 {
	before := heapInUse()
	v := fn()
	after := heapInUse()
	runtime.KeepAlive(v)
	return after - before
}

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
