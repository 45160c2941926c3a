//go:build xvbench

package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Issue 13's goals for the S3 rows; the report says whether a run met them,
// nothing asserts them.
const (
	s3SlowdownGoal = 0.15      // S3 wall time at most 15 % above local_fs's
	s3RSSGoalKiB   = 256 << 10 // peak agent RSS below 256 MiB
)

// printS3Report writes the S3 rows next to the local_fs row of the same
// transfer measured in the same run (medians), with issue 13's goals.
func printS3Report(w io.Writer, dataBytes int64, samples []sample) {
	var rows [][2]*sample // {local_fs, s3}
	for i := range samples {
		if samples[i].s3 != nil {
			rows = append(rows, [2]*sample{localRow(samples, samples[i].s3.transfer), &samples[i]})
		}
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(w, "S3 storage (versitygw POSIX on loopback, same disk) vs local_fs, medians:")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| storage\t transfer\t wall s\t vs local_fs\t MB/s\t agent CPU s\t versitygw CPU s\t machine CPU s\t peak RSS MiB\t artifact MiB\t commit s\t")
	fmt.Fprintln(tw, "|---\t---\t---:\t---:\t---:\t---:\t---:\t---:\t---:\t---:\t---:\t")
	for _, r := range rows {
		local, s3 := r[0], r[1]
		if local != nil {
			fmt.Fprintf(tw, "| local_fs\t %s\t %s\t %s\t\n", s3.s3.transfer, s3Cells(*local, dataBytes, "—", "—"), commitCell(*local))
		}
		vs := "—"
		if local != nil {
			vs = fmt.Sprintf("%+.1f %%", (s3.use.Wall.Seconds()/local.use.Wall.Seconds()-1)*100)
		}
		fmt.Fprintf(tw, "| s3\t %s\t %s\t %.2f\t\n", s3.s3.transfer,
			s3Cells(*s3, dataBytes, vs, fmt.Sprintf("%.1f", s3.s3.serverCPU)), s3.s3.commitSeconds)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	for _, r := range rows {
		fmt.Fprintln(w, s3Verdict(r[0], r[1]))
	}
	fmt.Fprintln(w)
}

// s3Cells are the columns from wall s to artifact MiB.
func s3Cells(s sample, dataBytes int64, vs, serverCPU string) string {
	secs := s.use.Wall.Seconds()
	return fmt.Sprintf("%.1f\t %s\t %.0f\t %.1f\t %s\t %.1f\t %.0f\t %.0f",
		secs, vs, float64(dataBytes)/secs/1e6, s.use.ClientCPU, serverCPU, s.use.MachineCPU,
		float64(s.use.MaxRSSKiB)/1024, float64(s.outBytes)/(1<<20))
}

// commitCell is the local row's commit (fsync) time, from its detail.
func commitCell(s sample) string {
	_, rest, ok := strings.Cut(s.detail, "commit (fsync) ")
	if !ok {
		return "?"
	}
	v, _, _ := strings.Cut(rest, "s,")
	return v
}

// localRow returns the local_fs row of transfer, nil when the run had none.
func localRow(samples []sample, transfer string) *sample {
	for i := range samples {
		s := &samples[i]
		if s.s3 == nil && s.incr == nil && strings.TrimSuffix(s.mode, " (-overlay)") == "xVault "+transfer {
			return s
		}
	}
	return nil
}

// s3Verdict says whether the S3 row met issue 13's goals.
func s3Verdict(local, s3 *sample) string {
	rss := "met"
	if s3.use.MaxRSSKiB >= s3RSSGoalKiB {
		rss = "missed"
	}
	rssLine := fmt.Sprintf("peak agent RSS < 256 MiB: %s (%.0f MiB)", rss, float64(s3.use.MaxRSSKiB)/1024)
	if local == nil {
		return fmt.Sprintf("%s: no local_fs row in this run (add -modes %s): slowdown not judged; %s",
			s3.mode, s3.s3.transfer, rssLine)
	}
	slow := s3.use.Wall.Seconds()/local.use.Wall.Seconds() - 1
	verdict := "met"
	if slow > s3SlowdownGoal {
		verdict = "missed"
	}
	return fmt.Sprintf("%s: within 15 %% of local_fs: %s (%+.1f %% wall, %.1f s vs %.1f s); %s",
		s3.mode, verdict, slow*100, s3.use.Wall.Seconds(), local.use.Wall.Seconds(), rssLine)
}
