//go:build xvbench

package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"filippo.io/age"
)

func newIdentity() (*age.X25519Identity, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, fmt.Errorf("generate age identity: %w", err)
	}
	return id, nil
}

// median returns the sample with the median wall time (the lower one of an even count).
func median(s []sample) sample {
	s = slices.Clone(s)
	slices.SortFunc(s, func(a, b sample) int { return cmp.Compare(a.use.Wall, b.use.Wall) })
	return s[(len(s)-1)/2]
}

// printReport writes the machine facts and the table, in Markdown so it can
// be pasted into docs/performance.md. The ratio is throughput relative to
// the baseline (the last sample whose mode starts with "baseline").
func printReport(w io.Writer, f machineFacts, m datasetManifest, samples []sample, runs int) {
	fmt.Fprintf(w, "\nMachine: %d CPUs, %s, %s RAM, Linux %s, %s; %s; %s\n",
		f.CPUs, f.CPUModel, f.MemTotal, f.Kernel, f.Go, f.SSHD, f.Tools)
	fmt.Fprintf(w, "Load average at start: %s\n", f.LoadStart)
	fmt.Fprintf(w, "One `ssh HOST true` (exec session setup, incl. the login shell's rc files): %.2fs wall, %.2fs server CPU\n",
		f.Session.Wall.Seconds(), f.Session.ServerCPU)
	fmt.Fprintf(w, "Server CPU measured with: %s\n", f.ServerMeter)
	fmt.Fprintf(w, "Dataset: %d files, %s (seed %d); median of %d run(s) per mode\n\n", m.Files, mib(m.Bytes), m.Seed, runs)
	var base *sample
	for i := range samples {
		if strings.HasPrefix(samples[i].mode, "baseline") && samples[i].incr == nil {
			base = &samples[i]
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| mode\t wall s\t MB/s\t files/s\t client CPU s\t server CPU s\t machine CPU s\t peak RSS MiB\t output MiB\t vs baseline\t load before\t")
	fmt.Fprintln(tw, "|---\t---:\t---:\t---:\t---:\t---:\t---:\t---:\t---:\t---:\t---\t")
	for _, s := range samples {
		if s.incr != nil {
			continue
		}
		secs := s.use.Wall.Seconds()
		ratio := "—"
		if base != nil {
			ratio = fmt.Sprintf("%.2f×", base.use.Wall.Seconds()/secs)
		}
		fmt.Fprintf(tw, "| %s\t %.1f\t %.0f\t %.0f\t %.1f\t %.1f\t %.1f\t %.0f\t %.0f\t %s\t %s\t\n",
			s.mode, secs, float64(m.Bytes)/secs/1e6, float64(m.Files)/secs, s.use.ClientCPU, s.use.ServerCPU, s.use.MachineCPU,
			float64(s.use.MaxRSSKiB)/1024, float64(s.outBytes)/(1<<20), ratio, s.use.LoadBefore)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
}

// parseSize parses "1GiB", "256MiB", "512KiB", "1000000" (bytes).
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = rest, u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number with an optional unit (KiB, MiB, GiB)", s)
	}
	return int64(n * float64(mult)), nil
}

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }
