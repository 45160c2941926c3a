//go:build xvbench

// Command bench is `make bench` (go run -tags xvbench ./internal/bench; the
// tag keeps it out of `go install ./...`): it generates a dataset (cached), serves it
// from a private OpenSSH sshd on loopback and backs it up, from one run,
// with xVault's real hot path (sftp connector → tar → zstd → age → agentd
// storage, in a child process measured alone) and with the baseline
// pipeline `ssh host tar cf - DIR | zstd -3 -T0 | age -r R > out`. It prints
// wall time, throughput, CPU seconds (client and whole machine), peak RSS
// and output size of both, side by side. See docs/performance.md.
//
// It measures; it asserts nothing about speed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/xvault/xvault/internal/testutil/sshd"
)

type options struct {
	data       string
	work       string
	size       int64
	seed       uint64
	runs       int
	modes      string
	cpuProfile string
	overlay    string
	dbSize     int64 // -modes database: the dump's approximate size
}

func main() {
	o := options{}
	flag.StringVar(&o.data, "data", "bench-data/dataset", "dataset cache directory (regenerated unless its MANIFEST.json matches)")
	flag.StringVar(&o.work, "work", "bench-data/work", "scratch directory: sshd files, keys, outputs (emptied first)")
	sizeFlag := flag.String("size", "1GiB", "total dataset size (e.g. 256MiB, 1GiB)")
	flag.Uint64Var(&o.seed, "seed", 1, "dataset seed")
	flag.IntVar(&o.runs, "runs", 1, "runs per mode; the run with the median wall time is reported")
	flag.StringVar(&o.modes, "modes", "exec,sftp,baseline",
		"comma-separated modes: exec, sftp (xVault with that transfer, to local_fs), s3, sftp-s3 (the same, exec or sftp, to S3: versitygw on loopback), pull (xVault's sftp connector alone, bodies discarded), baseline; "+
			"exec-incr, sftp-incr (full, unchanged re-run, 1 % changed), nightly30 (30 exec nightlies), restic (local anchors); "+
			"database (a MariaDB database of -db-size: xVault's mysql connector vs mariadb-dump | zstd | age)")
	dbSizeFlag := flag.String("db-size", "1GiB", "approximate dump size of the database of -modes database")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the first run of each xVault mode to FILE.MODE")
	flag.StringVar(&o.overlay, "overlay", "", "go build -overlay file whose replacements also apply to the xVault child (try a change without editing the tree)")
	flag.Parse()
	var err error
	if o.dbSize, err = parseSize(*dbSizeFlag); err != nil {
		fmt.Fprintf(os.Stderr, "bench: usage: -db-size %q: %v\n", *dbSizeFlag, err)
		os.Exit(2)
	}
	if o.size, err = parseSize(*sizeFlag); err != nil || o.runs < 1 {
		fmt.Fprintf(os.Stderr, "bench: usage: -size %q: %v, -runs %d\n", *sizeFlag, err, o.runs)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runAll(ctx, o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, stdout, log io.Writer) error {
	if err := checkTools(); err != nil {
		return err
	}
	facts := gatherFacts()
	data, err := filepath.Abs(o.data)
	if err != nil {
		return err
	}
	m, err := ensureDataset(data, o.size, o.seed, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "dataset: %d files, %s in %s; warming the page cache ...\n", m.Files, mib(m.Bytes), data)
	if err := warmDataset(data); err != nil {
		return fmt.Errorf("read dataset: %w", err)
	}
	e, cleanup, err := setup(ctx, o.work, data, o.overlay)
	if err != nil {
		return err
	}
	defer cleanup()
	if facts.Session, err = sessionSetup(ctx, e); err != nil {
		return err
	}
	facts.ServerMeter = e.server.Method
	samples, notes, err := runModes(ctx, o, e, m, log)
	if err != nil {
		return err
	}
	printReport(stdout, facts, m, samples, o.runs)
	printIncrReport(stdout, samples)
	printS3Report(stdout, m.Bytes, samples)
	if strings.Contains(","+o.modes+",", ",restic,") && !haveRestic() {
		fmt.Fprintln(stdout, resticMissing)
	}
	for _, n := range notes {
		fmt.Fprintln(stdout, n)
	}
	return nil
}

// runModes runs every mode o.runs times, interleaved so that a change of
// machine load hits them alike, and returns the median run of each row (a
// mode may give several) and the notes of the first runs (what was verified).
func runModes(ctx context.Context, o options, e *env, m datasetManifest, log io.Writer) ([]sample, []string, error) {
	modes := strings.Split(o.modes, ",")
	all := make(map[string][]sample)
	var order []string
	var notes []string
	for r := range o.runs {
		for _, mode := range modes {
			fmt.Fprintf(log, "run %d/%d: %s (load %s) ...\n", r+1, o.runs, mode, loadAverage())
			rows, err := runMode(ctx, o, e, m, strings.TrimSpace(mode), r)
			if err != nil {
				return nil, nil, err
			}
			for _, s := range rows {
				fmt.Fprintf(log, "  %s: %.1fs wall, CPU: %.1fs client, %.1fs server, %.1fs machine\n",
					s.mode, s.use.Wall.Seconds(), s.use.ClientCPU, s.use.ServerCPU, s.use.MachineCPU)
				if _, ok := all[s.mode]; !ok {
					order = append(order, s.mode)
				}
				all[s.mode] = append(all[s.mode], s)
				if r == 0 && s.detail != "" {
					notes = append(notes, s.mode+" (first run): "+s.detail)
				}
			}
		}
	}
	var out []sample
	for _, mode := range order {
		out = append(out, median(all[mode]))
	}
	return out, notes, nil
}

// runMode runs one mode once; the first run (r == 0) is verified and
// profiled. nightly30 and restic's 30 nightlies run in the first run only.
func runMode(ctx context.Context, o options, e *env, m datasetManifest, mode string, r int) ([]sample, error) {
	first := r == 0
	profile := ""
	if first && o.cpuProfile != "" {
		profile = o.cpuProfile + "." + mode
	}
	one := func(s sample, err error) ([]sample, error) { return []sample{s}, err }
	switch mode {
	case "sftp", "exec":
		return one(runXVault(ctx, e, r, xvRun{transfer: mode, cpuProfile: profile, verify: first}))
	case "pull":
		return one(runXVault(ctx, e, r, xvRun{transfer: "sftp", pullOnly: true}))
	case "s3", "sftp-s3":
		return one(runS3(ctx, e, r, xvRun{transfer: s3Transfer(mode), cpuProfile: profile, verify: first}))
	case "baseline":
		return one(runBaseline(ctx, e, m.Files+1, first)) // +1: MANIFEST.json
	case "exec-incr", "sftp-incr":
		return runIncr(ctx, o, e, strings.TrimSuffix(mode, "-incr"), r, profile)
	case "nightly30":
		if !first {
			return nil, nil
		}
		return runNightly30(ctx, o, e)
	case "restic":
		return runRestic(ctx, o, e, r, first)
	default:
		return nil, fmt.Errorf("unknown mode %q (want sftp, exec, s3, sftp-s3, pull, baseline, exec-incr, sftp-incr, nightly30 or restic)", mode)
	}
}

// setup empties the work directory, starts sshd, writes the client key,
// makes an age identity and builds the xVault child.
func setup(ctx context.Context, work, dataset, overlay string) (*env, func(), error) {
	work, err := filepath.Abs(work)
	if err != nil {
		return nil, nil, err
	}
	if err := os.RemoveAll(work); err != nil {
		return nil, nil, fmt.Errorf("empty %s: %w", work, err)
	}
	if err := os.MkdirAll(filepath.Join(work, "sshd"), 0o700); err != nil {
		return nil, nil, err
	}
	e := &env{work: work, dataset: dataset, keyFile: filepath.Join(work, "client_key"), child: filepath.Join(work, "xvbenchchild"), overlay: overlay}
	if err := buildChild(ctx, e.child, overlay); err != nil {
		return nil, nil, err
	}
	if e.identity, err = newIdentity(); err != nil {
		return nil, nil, err
	}
	if e.indexID, err = newIdentity(); err != nil {
		return nil, nil, err
	}
	if e.srv, err = sshd.Launch(filepath.Join(work, "sshd"), sshd.Options{}); err != nil {
		return nil, nil, fmt.Errorf("start sshd: %w", err)
	}
	e.server = newServerMeter(e.srv.PID())
	cleanup := func() { e.srv.Stop(); e.server.close(); e.stopS3(); _ = os.RemoveAll(work) }
	if err := os.WriteFile(e.keyFile, e.srv.ClientKey, 0o600); err != nil {
		cleanup()
		return nil, nil, err
	}
	return e, cleanup, nil
}

func checkTools() error {
	var missing []string
	for _, tool := range []string{"ssh", "zstd", "age", "tar", "go", "/usr/sbin/sshd"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		return errors.New("missing " + strings.Join(missing, ", ") +
			" (hint: apt-get install -y openssh-server openssh-client zstd age tar; go from go.dev/dl)")
	}
	return nil
}
