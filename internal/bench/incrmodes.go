//go:build xvbench

package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/xvault/xvault/sdk/archive"
)

// incrRow is what an incremental-table row carries besides the usage.
type incrRow struct {
	kind      string // "full", "unchanged", "mutation", "nightly"
	transfer  string // "exec", "sftp", "restic"
	sshBytes  int64  // read + written on the agent's connection
	filesRead int64
	// nightly30: stored bytes of the 30 snapshots, of one full, and the
	// 7-day estimate.
	stored30, oneFull, stored7d int64
}

func incrSample(mode, kind, transfer string, l link) sample {
	return sample{mode: mode, use: l.use, outBytes: l.res.Artifact.StoredBytes, incr: &incrRow{
		kind: kind, transfer: transfer, sshBytes: l.res.SSHBytesRead + l.res.SSHBytesWritten, filesRead: l.res.FilesRead,
	}}
}

// runIncr is exec-incr / sftp-incr: a full with its index, an unchanged
// re-run, then a run after mutation step r (1 % of the files rewritten).
func runIncr(ctx context.Context, o options, e *env, transfer string, r int, profile string) ([]sample, error) {
	if _, err := incrDataset(ctx, e, o.seed); err != nil {
		return nil, err
	}
	c := &chain{store: filepath.Join(e.work, "incr-"+transfer+"-"+strconv.Itoa(r)), transfer: transfer}
	defer os.RemoveAll(c.store)
	name := "xVault " + transfer + " incr: "
	full, err := c.backup(ctx, e, true, "")
	if err != nil {
		return nil, err
	}
	same, err := c.backup(ctx, e, false, profile)
	if err != nil {
		return nil, err
	}
	files, bytes, err := e.incr.mutate(uint64(r))
	if err != nil {
		return nil, err
	}
	changed, err := c.backup(ctx, e, false, "")
	if err != nil {
		return nil, err
	}
	out := []sample{
		incrSample(name+"first full (index written)", "full", transfer, full),
		incrSample(name+"unchanged re-run", "unchanged", transfer, same),
		incrSample(name+"1 % changed", "mutation", transfer, changed),
	}
	for i, l := range []link{full, same, changed} {
		ir := l.res.Incremental
		out[i].detail = fmt.Sprintf("incremental=%t stored=%d unchanged=%d deleted=%d, files read %d, parent index decoded in %.2fs, index %d B, commit %.2fs",
			ir.Incremental, ir.Stored, ir.Unchanged, ir.Deleted, l.res.FilesRead, ir.IndexSeconds, ir.IndexBytes, l.res.CommitSeconds)
	}
	out[2].detail += fmt.Sprintf(" (mutation: %d files, %s rewritten)", files, mib(bytes))
	if r == 0 {
		for i, l := range []link{full, same, changed} {
			out[i].detail += verifyNote(ctx, e, l)
		}
	}
	return out, nil
}

// verifyNote checks an artifact with the identity and says how it went.
func verifyNote(ctx context.Context, e *env, l link) string {
	f, err := os.Open(l.res.ArtifactPath)
	if err != nil {
		return "; NOT verified: " + err.Error()
	}
	defer f.Close()
	if _, err := archive.VerifyFile(ctx, f, e.identity, l.res.Artifact.SHA256); err != nil {
		return "; verify FAILED: " + err.Error()
	}
	return "; artifact verified (archive.VerifyFile)"
}

// Planning rules of docs/incremental.md, section 4, as the bench applies them.
const (
	nightlies    = 30
	maxLinks     = 64
	sizeFraction = 0.5
)

// runNightly30 makes 30 exec backups, 1 % of the files changed before each
// (mutation steps 1000+day), with the hub's full rules approximated:
// full_every 30d (so no period full inside the 30 days), a full when the
// chain's incrementals exceed 50 % of its full, or at 64 links.
func runNightly30(ctx context.Context, o options, e *env) ([]sample, error) {
	if _, err := incrDataset(ctx, e, o.seed); err != nil {
		return nil, err
	}
	c := &chain{store: filepath.Join(e.work, "nightly30"), transfer: "exec"}
	defer os.RemoveAll(c.store)
	var links []link
	var total int64
	fulls := 0
	for day := range nightlies {
		if _, _, err := e.incr.mutate(uint64(1000 + day)); err != nil {
			return nil, err
		}
		time.Sleep(execRacyWait) // a nightly runs hours after the day's changes
		full := day == 0 || float64(c.incrStored) > sizeFraction*float64(c.fullStored) || c.position+1 >= maxLinks
		l, err := c.backup(ctx, e, full, "")
		if err != nil {
			return nil, err
		}
		if l.full {
			fulls++
		}
		links = append(links, l)
		total += l.stored()
	}
	return []sample{nightlySample(links, total, fulls)}, nil
}

// nightlySample sums the 30 nights. The 7-day estimate puts a full on days
// 1, 8, 15, 22 and 29 (day 1's full size) and keeps the other nights' incrementals as measured.
func nightlySample(links []link, total int64, fulls int) sample {
	oneFull := links[0].stored()
	est7 := int64(0)
	var maxRSS int64
	var wall time.Duration
	for day, l := range links {
		if day%7 == 0 {
			est7 += oneFull
		} else {
			est7 += l.stored()
		}
		maxRSS = max(maxRSS, l.use.MaxRSSKiB)
		if day > 0 {
			wall += l.use.Wall
		}
	}
	nights := slices.Clone(links[1:])
	slices.SortFunc(nights, func(a, b link) int { return cmp.Compare(a.use.Wall, b.use.Wall) })
	u := nights[(len(nights)-1)/2].use // the median night after the first
	u.MaxRSSKiB = maxRSS
	s := sample{mode: "xVault exec nightly30 (full_every 30d)", use: u, outBytes: total,
		incr: &incrRow{kind: "nightly", transfer: "exec", stored30: total, oneFull: oneFull, stored7d: est7}}
	s.detail = fmt.Sprintf("%d fulls in %d nights, stored %s (artifacts + indexes) vs one full %s; nights 2-30: mean %.2fs wall (the row: the median night); "+
		"with full_every 7d (estimated: fulls on days 1, 8, 15, 22, 29 at day 1's size): %s = %.2f× one full",
		fulls, len(links), mib(total), mib(oneFull), wall.Seconds()/float64(len(links)-1), mib(est7), float64(est7)/float64(oneFull))
	return s
}
