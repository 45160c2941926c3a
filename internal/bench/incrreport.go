//go:build xvbench

package main

import (
	"fmt"
	"io"
	"os/exec"
	"strings"
	"text/tabwriter"
)

// Goals of issue 12's performance table.
const (
	goalUnchangedExecSecs = 1.0
	goalUnchangedExecSSH  = 5e6
	goalUnchangedExecArt  = 256 << 10
	goalUnchangedSFTPSecs = 2.0
	goalMutationShare     = 0.10
	goalNightlyFactor     = 1.5
	goalRSSKiB            = 256 << 10
)

func haveRestic() bool { _, err := exec.LookPath("restic"); return err == nil }

// printIncrReport writes the incremental table: every row beside the
// issue's goal (met, or missed by how much) and its restic anchor.
func printIncrReport(w io.Writer, samples []sample) {
	find := func(kind, transfer string) *sample {
		for i := range samples {
			if r := samples[i].incr; r != nil && r.kind == kind && r.transfer == transfer {
				return &samples[i]
			}
		}
		return nil
	}
	var base *sample
	for i := range samples {
		if samples[i].mode == "baseline" {
			base = &samples[i]
		}
	}
	if find("full", "exec") == nil && find("full", "sftp") == nil && find("nightly", "exec") == nil && find("full", "restic") == nil {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| case\t wall s\t vs full\t over SSH MB\t artifact KiB\t peak RSS MiB\t files read\t goal\t verdict\t restic anchor\t load before\t")
	fmt.Fprintln(tw, "|---\t---:\t---:\t---:\t---:\t---:\t---:\t---\t---\t---\t---\t")
	for _, s := range samples {
		r := s.incr
		if r == nil {
			continue
		}
		full := find("full", r.transfer)
		vsFull, ssh, files := "—", "—", "—"
		if full != nil && r.kind != "full" && r.kind != "nightly" {
			vsFull = fmt.Sprintf("%.1f %%", 100*s.use.Wall.Seconds()/full.use.Wall.Seconds())
		}
		if r.transfer != "restic" {
			ssh, files = fmt.Sprintf("%.2f", float64(r.sshBytes)/1e6), fmt.Sprint(r.filesRead)
		}
		if r.kind == "nightly" {
			ssh, files = "—", "—"
		}
		goal, verdict := judge(s, full, base)
		fmt.Fprintf(tw, "| %s\t %.2f\t %s\t %s\t %.0f\t %.0f\t %s\t %s\t %s\t %s\t %s\t\n", s.mode, s.use.Wall.Seconds(), vsFull, ssh,
			float64(s.outBytes)/1024, float64(s.use.MaxRSSKiB)/1024, files, goal, verdict, anchor(s, find(r.kind, "restic")), s.use.LoadBefore)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "\nartifact KiB: the artifact (nightly30: artifacts + indexes of the 30 snapshots; restic: du -sb of the repository). "+
		"restic reads the dataset locally (no SSH); xVault pulls it over SSH from the loopback sshd.")
	fmt.Fprintln(w)
}

// judge returns the goal for the row and whether it was met.
func judge(s sample, full, base *sample) (string, string) {
	r := s.incr
	secs := s.use.Wall.Seconds()
	var goal string
	var missed []string
	switch {
	case r.transfer == "restic":
		return "anchor", "—"
	case r.kind == "unchanged" && r.transfer == "exec":
		goal = "≤ 1.0 s, ≤ 5 MB SSH, ≤ 256 KiB"
		missed = over(missed, secs, goalUnchangedExecSecs, "%.2f s")
		missed = over(missed, float64(r.sshBytes)/1e6, goalUnchangedExecSSH/1e6, "%.2f MB")
		missed = over(missed, float64(s.outBytes)/1024, goalUnchangedExecArt/1024, "%.0f KiB")
	case r.kind == "unchanged":
		goal = "≤ 2.0 s"
		missed = over(missed, secs, goalUnchangedSFTPSecs, "%.2f s")
	case r.kind == "mutation" && full != nil:
		goal = "≤ 10 % of the full's time"
		missed = over(missed, 100*secs/full.use.Wall.Seconds(), 100*goalMutationShare, "%.1f %%")
	case r.kind == "nightly":
		goal = "≤ 1.5× one full"
		missed = over(missed, float64(r.stored30)/float64(r.oneFull), goalNightlyFactor, "%.2f×")
	case r.kind == "full" && r.transfer == "exec" && base != nil:
		goal = "≥ 1.0× baseline (aim 1.3×), artifact ≤ baseline's"
		missed = under(missed, base.use.Wall.Seconds()/secs, 1.0, "%.2f×")
		missed = over(missed, float64(s.outBytes), float64(base.outBytes), "%.0f B")
	default:
		goal = "—"
	}
	missed = over(missed, float64(s.use.MaxRSSKiB)/1024, goalRSSKiB/1024, "RSS %.0f MiB")
	if len(missed) == 0 {
		return goal, "met"
	}
	return goal, "MISSED: " + strings.Join(missed, "; ")
}

// over notes a value above its limit, with by how much.
func over(missed []string, v, limit float64, format string) []string {
	if v <= limit {
		return missed
	}
	return append(missed, fmt.Sprintf(format+" (limit "+format+", +%.0f %%)", v, limit, 100*(v/limit-1)))
}

func under(missed []string, v, limit float64, format string) []string {
	if v >= limit {
		return missed
	}
	return append(missed, fmt.Sprintf(format+" (goal "+format+", −%.0f %%)", v, limit, 100*(1-v/limit)))
}

// anchor describes the restic row matching s.
func anchor(s sample, a *sample) string {
	switch {
	case s.incr.transfer == "restic":
		return "—"
	case a == nil:
		return "restic not run"
	case s.incr.kind == "nightly":
		return fmt.Sprintf("repo %s (%.2f× its first)", mib(a.incr.stored30), float64(a.incr.stored30)/float64(a.incr.oneFull))
	case s.incr.kind == "full":
		return fmt.Sprintf("%.2f s, repo %s", a.use.Wall.Seconds(), mib(a.outBytes))
	}
	return fmt.Sprintf("%.2f s", a.use.Wall.Seconds())
}
