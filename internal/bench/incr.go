//go:build xvbench

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/xvault/xvault/internal/bench/hotpath"
)

// mutationAge is how far in the past a mutated file's mtime is set, as for
// a change made during the day: without it the racy rule (docs/incremental.md,
// section 2) would re-read it in the next run. exec's rule also looks at
// ctime, which cannot be set: nightly30 waits execRacyWait instead.
const (
	mutationAge  = 10 * time.Minute
	execRacyWait = 3 * time.Second
)

// incrData is the private copy of the dataset that the incremental modes and
// restic back up and mutate (the cached dataset stays as generated).
type incrData struct {
	dir   string
	files []string // regular files, relative, sorted
	seed  uint64
	gen   uint64 // mutations so far: new content every time
}

// incrDataset copies the dataset once (cp -a keeps the mtimes) and waits
// out exec's racy window, so the first full finds nothing racy.
func incrDataset(ctx context.Context, e *env, seed uint64) (*incrData, error) {
	if e.incr != nil {
		return e.incr, nil
	}
	d := &incrData{dir: filepath.Join(e.work, "incr-data"), seed: seed}
	if out, err := exec.CommandContext(ctx, "cp", "-a", e.dataset, d.dir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("copy the dataset for the incremental modes: %w: %s", err, out)
	}
	err := filepath.WalkDir(d.dir, func(p string, de fs.DirEntry, err error) error {
		if err == nil && de.Type().IsRegular() && de.Name() != manifestName {
			rel, _ := filepath.Rel(d.dir, p)
			d.files = append(d.files, rel)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list the dataset copy: %w", err)
	}
	slices.Sort(d.files)
	if err := ageTree(d.dir, time.Now().Add(-mutationAge)); err != nil {
		return nil, err
	}
	time.Sleep(execRacyWait)
	e.incr = d
	return d, nil
}

// ageTree sets every mtime in dir that is after limit to limit, files
// before their directories: a freshly generated dataset would otherwise be
// all "racy" (changed within the listing's window) and read again by the
// unchanged re-run, which a site's old files are not.
func ageTree(dir string, limit time.Time) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() {
			dirs = append(dirs, p)
			return nil
		}
		return ageOne(p, limit)
	})
	for i := len(dirs) - 1; err == nil && i >= 0; i-- {
		err = ageOne(dirs[i], limit)
	}
	if err != nil {
		return fmt.Errorf("age the dataset copy: %w", err)
	}
	return nil
}

func ageOne(p string, limit time.Time) error {
	st, err := os.Lstat(p)
	if err != nil || !st.ModTime().After(limit) || st.Mode()&fs.ModeSymlink != 0 {
		return err
	}
	return os.Chtimes(p, limit, limit)
}

// mutate rewrites 1 % of the files (at least one) with new content of the
// same size and class. The files picked are a function of (seed, step), so
// every mode given the same step changes the same files; the content is new
// each time, so that no tool can deduplicate it against an earlier version.
func (d *incrData) mutate(step uint64) (files int, bytes int64, err error) {
	n := max(1, len(d.files)/100)
	rng := rand.New(rand.NewPCG(d.seed, 0x6d757461+step))
	d.gen++
	mtime := time.Now().Add(-mutationAge)
	for k, i := range rng.Perm(len(d.files))[:n] {
		name := filepath.Join(d.dir, d.files[i])
		st, err := os.Stat(name)
		if err != nil {
			return files, bytes, fmt.Errorf("mutate dataset: %w", err)
		}
		f := fileSpec{size: st.Size(), text: strings.HasSuffix(name, ".txt")}
		if err := writeDatasetFile(name, f, d.seed^(d.gen<<32), uint64(k)); err != nil {
			return files, bytes, err
		}
		if err := os.Chtimes(name, mtime, mtime); err != nil {
			return files, bytes, fmt.Errorf("mutate dataset: %w", err)
		}
		files, bytes = files+1, bytes+st.Size()
	}
	return files, bytes, nil
}

// chain is one chain of snapshots in its own store.
type chain struct {
	store, transfer string
	n               int // snapshots made
	fullID          string
	position        int
	parentID        string
	parentIndex     string
	fullStored      int64 // artifact + index bytes of the chain's full
	incrStored      int64 // of its incrementals
}

// link is one backup of a chain.
type link struct {
	use  usage
	res  hotpath.Result
	full bool
}

// stored is what the snapshot keeps on disk: artifact and index.
func (l link) stored() int64 { return l.res.Artifact.StoredBytes + l.res.Incremental.IndexBytes }

// backup makes the chain's next snapshot: a full if asked or if there is none yet.
func (c *chain) backup(ctx context.Context, e *env, full bool, profile string) (link, error) {
	c.n++
	id := fmt.Sprintf("snap%04d", c.n)
	is := &hotpath.IncrementalSpec{IndexIdentity: e.indexID.String(), SnapshotID: id}
	if !full && c.parentID != "" {
		is.ParentSnapshotID, is.ParentIndex = c.parentID, c.parentIndex
		is.FullSnapshotID, is.ChainPosition = c.fullID, c.position+1
	}
	spec := hotpath.Spec{
		Host: e.srv.Host, Port: e.srv.Port, User: e.srv.User, PrivateKey: e.srv.ClientKey,
		HostKey: e.srv.HostKeyFingerprint, Paths: []string{e.incr.dir}, Transfer: c.transfer,
		Recipient: e.identity.Recipient().String(), StoreDir: c.store, CPUProfile: profile, Incremental: is,
	}
	in, _ := json.Marshal(spec)
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, e.child)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), &stdout, os.Stderr
	use, err := measure(cmd, e.server)
	if err != nil {
		return link{}, fmt.Errorf("xVault %s incremental %s: child: %w", c.transfer, id, err)
	}
	var l link
	if err := json.Unmarshal(stdout.Bytes(), &l.res); err != nil || l.res.Incremental == nil {
		return link{}, fmt.Errorf("xVault %s incremental %s: child result: %v", c.transfer, id, err)
	}
	l.use, l.full = use, !l.res.Incremental.Incremental
	c.parentID, c.parentIndex = id, l.res.Incremental.IndexPath
	if l.full {
		c.fullID, c.position, c.fullStored, c.incrStored = id, 0, l.stored(), 0
	} else {
		c.position++
		c.incrStored += l.stored()
	}
	return l, nil
}
