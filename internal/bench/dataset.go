//go:build xvbench

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// datasetVersion changes whenever the generator's output changes, so an old
// cache is regenerated.
const datasetVersion = 1

// manifestName is the file, inside the dataset, that says what was generated.
const manifestName = "MANIFEST.json"

// Share of the total size per class; the rest goes to large files.
const (
	smallShare  = 0.50 // 1–64 KiB, log-uniform: ≈ 34,000 files per GiB
	mediumShare = 0.25 // 1–8 MiB, log-uniform: ≈ 75 files per GiB
)

// datasetManifest describes a generated dataset.
type datasetManifest struct {
	Version int    `json:"version"`
	Seed    uint64 `json:"seed"`
	Size    int64  `json:"size"` // requested total
	Files   int64  `json:"files"`
	Bytes   int64  `json:"bytes"` // actual total of the files' contents
}

// fileSpec is one file to generate.
type fileSpec struct {
	name string // relative, slash-separated
	size int64
	text bool // compressible (words) or random
}

// ensureDataset returns the manifest of the dataset in dir, generating it
// first unless a dataset with the same version, seed and size is there.
func ensureDataset(dir string, size int64, seed uint64, log io.Writer) (datasetManifest, error) {
	want := datasetManifest{Version: datasetVersion, Seed: seed, Size: size}
	if have, err := readManifest(dir); err == nil && have.Version == want.Version && have.Seed == want.Seed && have.Size == want.Size {
		return have, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return want, fmt.Errorf("remove old dataset: %w", err)
	}
	files := plan(size, seed)
	fmt.Fprintf(log, "generating %d files (%s) into %s ...\n", len(files), mib(size), dir)
	for i, f := range files {
		if err := writeDatasetFile(filepath.Join(dir, filepath.FromSlash(f.name)), f, seed, uint64(i)); err != nil {
			return want, err
		}
		want.Files++
		want.Bytes += f.size
	}
	data, _ := json.MarshalIndent(want, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, manifestName), append(data, '\n'), 0o644); err != nil {
		return want, fmt.Errorf("write dataset manifest: %w", err)
	}
	return want, nil
}

func readManifest(dir string) (datasetManifest, error) {
	var m datasetManifest
	data, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(data, &m)
}

// plan lists the files of a dataset of about size bytes: small files in
// directories of 100, medium and large ones, half of them compressible.
func plan(size int64, seed uint64) []fileSpec {
	rng := rand.New(rand.NewPCG(seed, 0x78766175))
	var files []fileSpec
	fill := func(budget int64, next func(i int) fileSpec) {
		for i := 0; budget > 0; i++ {
			f := next(i)
			f.size = min(f.size, budget)
			files = append(files, f)
			budget -= f.size
		}
	}
	small := int64(float64(size) * smallShare)
	medium := int64(float64(size) * mediumShare)
	fill(small, func(i int) fileSpec {
		return fileSpec{name: fmt.Sprintf("small/%03d/%02d/f%06d", i/2000, i/100%20, i),
			size: logUniform(rng, 1<<10, 64<<10), text: rng.IntN(2) == 0}
	})
	fill(medium, func(i int) fileSpec {
		return fileSpec{name: fmt.Sprintf("medium/m%04d", i), size: logUniform(rng, 1<<20, 8<<20), text: rng.IntN(2) == 0}
	})
	fill(size-small-medium, func(i int) fileSpec {
		return fileSpec{name: fmt.Sprintf("large/l%02d", i), size: 64<<20 + rng.Int64N(64<<20), text: i%2 == 0}
	})
	for i := range files {
		if files[i].text {
			files[i].name += ".txt"
		} else {
			files[i].name += ".bin"
		}
	}
	return files
}

func logUniform(rng *rand.Rand, lo, hi float64) int64 {
	return int64(lo * math.Exp(rng.Float64()*math.Log(hi/lo)))
}

// writeDatasetFile writes f's content, a pure function of (seed, index).
func writeDatasetFile(name string, f fileSpec, seed, index uint64) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return fmt.Errorf("generate dataset: %w", err)
	}
	out, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("generate dataset: %w", err)
	}
	var key [32]byte
	for i := range 8 {
		key[i], key[8+i] = byte(seed>>(8*i)), byte(index>>(8*i))
	}
	var src io.Reader = rand.NewChaCha8(key)
	if f.text {
		src = &textReader{rng: rand.New(rand.NewChaCha8(key))}
	}
	w := bufio.NewWriterSize(out, 1<<20)
	_, err = io.CopyN(w, src, f.size)
	err = errors.Join(err, w.Flush(), out.Close())
	if err != nil {
		return fmt.Errorf("generate dataset: write %s: %w", name, err)
	}
	return nil
}

// vocabulary is a fixed list of 4096 word-like strings, so that text files
// compress about as well as source code or logs (≈ 3–4× with zstd -3).
var vocabulary = func() [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	const letters = "etaoinshrdlcumwfgypbvkjxqz"
	words := make([][]byte, 4096)
	for i := range words {
		w := make([]byte, 2+rng.IntN(9))
		for j := range w {
			w[j] = letters[min(rng.IntN(len(letters)), rng.IntN(len(letters)))] // frequent letters first
		}
		words[i] = w
	}
	return words
}()

// textReader yields an endless text of random vocabulary words, 12 a line.
type textReader struct {
	rng     *rand.Rand
	pending []byte
	n       int
}

func (t *textReader) Read(p []byte) (int, error) {
	total := 0
	for len(p) > 0 {
		if len(t.pending) == 0 {
			t.n++
			sep := byte(' ')
			if t.n%12 == 0 {
				sep = '\n'
			}
			t.pending = append(append(t.pending[:0], vocabulary[t.rng.IntN(len(vocabulary))]...), sep)
		}
		k := copy(p, t.pending)
		p, t.pending, total = p[k:], t.pending[k:], total+k
	}
	return total, nil
}

// warmDataset reads every file once, so that no mode pays for a cold page cache.
func warmDataset(dir string) error {
	buf := make([]byte, 1<<20)
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyBuffer(io.Discard, f, buf)
		return err
	})
}
