//go:build xvbench

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// resticMissing is the note printed instead of the restic rows.
const resticMissing = "restic: not installed, its anchor rows are skipped (hint: apt-get install -y restic)"

// resticRepo is one local restic repository in the work directory.
type resticRepo struct {
	dir, cache, password string
}

func newResticRepo(ctx context.Context, e *env, name string) (*resticRepo, error) {
	pw := make([]byte, 16)
	if _, err := rand.Read(pw); err != nil {
		return nil, err
	}
	r := &resticRepo{dir: filepath.Join(e.work, name), cache: filepath.Join(e.work, "restic-cache"), password: hex.EncodeToString(pw)}
	if _, err := r.run(ctx, nil, "init"); err != nil {
		return nil, err
	}
	return r, nil
}

// run runs restic with the repository and password in its environment
// only (never argv), measured like the other modes.
func (r *resticRepo) run(ctx context.Context, server *serverMeter, args ...string) (usage, error) {
	cmd := exec.CommandContext(ctx, "restic", append([]string{"--quiet"}, args...)...)
	cmd.Env = append(os.Environ(), "RESTIC_REPOSITORY="+r.dir, "RESTIC_PASSWORD="+r.password, "RESTIC_CACHE_DIR="+r.cache)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if server == nil {
		err := cmd.Run()
		if err != nil {
			return usage{}, fmt.Errorf("restic %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
		}
		return usage{}, nil
	}
	u, err := measure(cmd, server)
	if err != nil {
		return u, fmt.Errorf("restic %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return u, nil
}

func (r *resticRepo) backup(ctx context.Context, e *env) (usage, error) {
	return r.run(ctx, e.server, "backup", "--host", "xvbench", e.incr.dir)
}

// size is the repository's size on disk (du -sb).
func (r *resticRepo) size(ctx context.Context) (int64, error) {
	out, err := exec.CommandContext(ctx, "du", "-sb", r.dir).Output()
	if err != nil {
		return 0, fmt.Errorf("du %s: %w", r.dir, err)
	}
	f := strings.Fields(string(out))
	if len(f) == 0 {
		return 0, fmt.Errorf("du %s: no output", r.dir)
	}
	return strconv.ParseInt(f[0], 10, 64)
}

func resticSample(mode, kind string, u usage, size int64) sample {
	return sample{mode: mode, use: u, outBytes: size, incr: &incrRow{kind: kind, transfer: "restic"}}
}

// runRestic is the anchor: a first backup of the dataset copy (read
// locally: restic runs where the data is), an unchanged re-run and a run
// after mutation step r, each into a new local repository; with nightly, 30
// backups with the nightly30 mutations and the repository's size.
func runRestic(ctx context.Context, o options, e *env, r int, nightly bool) ([]sample, error) {
	if _, err := exec.LookPath("restic"); err != nil {
		return nil, nil
	}
	if _, err := incrDataset(ctx, e, o.seed); err != nil {
		return nil, err
	}
	repo, err := newResticRepo(ctx, e, "restic-"+strconv.Itoa(r))
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(repo.dir)
	var out []sample
	for _, kind := range []string{"full", "unchanged", "mutation"} {
		if kind == "mutation" {
			if _, _, err := e.incr.mutate(uint64(r)); err != nil {
				return nil, err
			}
		}
		u, err := repo.backup(ctx, e)
		if err != nil {
			return nil, err
		}
		size, err := repo.size(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, resticSample("restic (local) "+map[string]string{"full": "first run", "unchanged": "unchanged re-run", "mutation": "1 % changed"}[kind], kind, u, size))
	}
	if nightly {
		s, err := resticNightly(ctx, e)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// resticNightly makes 30 backups into a new repository with the mutations
// of nightly30 and reports the repository's size after them and after the first.
func resticNightly(ctx context.Context, e *env) (sample, error) {
	repo, err := newResticRepo(ctx, e, "restic-nightly")
	if err != nil {
		return sample{}, err
	}
	defer os.RemoveAll(repo.dir)
	var first, last int64
	var walls []time.Duration
	var u usage
	for day := range nightlies {
		if _, _, err := e.incr.mutate(uint64(1000 + day)); err != nil {
			return sample{}, err
		}
		if u, err = repo.backup(ctx, e); err != nil {
			return sample{}, err
		}
		walls = append(walls, u.Wall)
		if day == 0 {
			if first, err = repo.size(ctx); err != nil {
				return sample{}, err
			}
		}
	}
	if last, err = repo.size(ctx); err != nil {
		return sample{}, err
	}
	s := resticSample("restic (local) nightly30", "nightly", u, last)
	s.incr.stored30, s.incr.oneFull = last, first
	s.detail = fmt.Sprintf("repository %s after 30 backups, %s after the first (du -sb); last night %.1fs wall",
		mib(last), mib(first), walls[len(walls)-1].Seconds())
	return s, nil
}
