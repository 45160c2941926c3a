//go:build xvbench

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"filippo.io/age"

	"github.com/xvault/xvault/internal/bench/hotpath"
	"github.com/xvault/xvault/internal/testutil/sshd"
	"github.com/xvault/xvault/sdk/archive"
)

// env is what every mode needs: the server, the keys and the dataset.
type env struct {
	work     string // scratch directory (outputs, keys, child binary)
	dataset  string // absolute path of the dataset directory
	srv      *sshd.Server
	server   *serverMeter // CPU of srv and its processes
	keyFile  string       // the client key, for ssh -i
	identity *age.X25519Identity
	child    string              // path of the built xVault child
	overlay  string              // the -overlay the child was built with, if any
	indexID  *age.X25519Identity // the incremental modes' stand-in for the agent's own key
	incr     *incrData           // the incremental modes' copy of the dataset, made on first use
	s3       *s3Env              // the S3 modes' versitygw, started on first use
}

// sample is one measured run of one mode.
type sample struct {
	mode     string
	use      usage
	outBytes int64
	detail   string
	incr     *incrRow // set for the rows of the incremental table
	s3       *s3Row   // set for the S3 rows (they are in the main table too)
}

// buildChild compiles hotpath/child into dst with an overlay that places it
// under agentd/internal, where it may import the agent's packages. extra,
// if set, is an overlay file whose replacements are added (experiments).
func buildChild(ctx context.Context, dst, extra string) error {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("find module root (hint: run from the xVault checkout, with go on PATH): %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	srcs, err := filepath.Glob(filepath.Join(root, "internal", "bench", "hotpath", "child", "*.go"))
	if err != nil || len(srcs) == 0 {
		return fmt.Errorf("child source: none in internal/bench/hotpath/child (hint: run from the xVault checkout): %v", err)
	}
	replace, err := readOverlay(extra)
	if err != nil {
		return err
	}
	for _, src := range srcs {
		virtual := filepath.Join(root, filepath.FromSlash(hotpath.OverlayDir), filepath.Base(src))
		if _, ok := replace[virtual]; !ok { // an experiment may replace the child too
			replace[virtual] = src
		}
	}
	overlay, _ := json.Marshal(map[string]map[string]string{"Replace": replace})
	overlayFile := dst + ".overlay.json"
	if err := os.WriteFile(overlayFile, overlay, 0o600); err != nil {
		return fmt.Errorf("write overlay: %w", err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", hotpath.BuildTag, "-overlay", overlayFile,
		"-o", dst, "./"+hotpath.OverlayDir)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the xVault child: %w\n%s", err, msg)
	}
	return nil
}

// readOverlay returns the replacements of a go build -overlay file ("" → none).
func readOverlay(name string) (map[string]string, error) {
	var o struct{ Replace map[string]string }
	if name != "" {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read -overlay: %w", err)
		}
		if err := json.Unmarshal(data, &o); err != nil {
			return nil, fmt.Errorf("parse -overlay %s: %w", name, err)
		}
	}
	if o.Replace == nil {
		o.Replace = map[string]string{}
	}
	return o.Replace, nil
}

// xvRun says how to run the xVault child once.
type xvRun struct {
	transfer   string // "sftp" or "exec"
	pullOnly   bool   // connector alone, bodies discarded
	cpuProfile string
	verify     bool // check the artifact with the identity
}

func (x xvRun) mode() string {
	if x.pullOnly {
		return "xVault " + x.transfer + " pull only"
	}
	return "xVault " + x.transfer
}

// runXVault backs the dataset up with the child and, if x.verify is set,
// checks the artifact with the identity. The artifact is removed afterwards.
func runXVault(ctx context.Context, e *env, run int, x xvRun) (sample, error) {
	store := filepath.Join(e.work, "store-"+strconv.Itoa(run))
	defer os.RemoveAll(store)
	spec := hotpath.Spec{
		Host: e.srv.Host, Port: e.srv.Port, User: e.srv.User, PrivateKey: e.srv.ClientKey,
		HostKey: e.srv.HostKeyFingerprint, Paths: []string{e.dataset}, Transfer: x.transfer,
		Recipient: e.identity.Recipient().String(), StoreDir: store, CPUProfile: x.cpuProfile, PullOnly: x.pullOnly,
	}
	use, res, err := runChild(ctx, e, spec)
	if err != nil {
		return sample{}, fmt.Errorf("%s: %w", x.mode(), err)
	}
	mode := x.mode()
	if e.overlay != "" {
		mode += " (-overlay)"
	}
	s := sample{mode: mode, use: use, outBytes: res.Artifact.StoredBytes,
		detail: fmt.Sprintf("pull+archive %.1fs, commit (fsync) %.2fs, %d files, %d warnings",
			res.PullSeconds, res.CommitSeconds, res.Artifact.Files, res.Warnings)}
	if x.pullOnly {
		s.detail = fmt.Sprintf("pull %.1fs, %d files, %d warnings", res.PullSeconds, res.Artifact.Files, res.Warnings)
	}
	if x.verify && !x.pullOnly {
		if err := verifyArtifact(ctx, res, e.identity); err != nil {
			return s, err
		}
		s.detail += ", artifact verified (archive.VerifyFile with the identity)"
	}
	return s, nil
}

// runChild runs the xVault child on spec, measured, and decodes its result.
func runChild(ctx context.Context, e *env, spec hotpath.Spec) (usage, hotpath.Result, error) {
	var res hotpath.Result
	in, _ := json.Marshal(spec)
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, e.child)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), &stdout, os.Stderr
	use, err := measure(cmd, e.server)
	if err != nil {
		return use, res, fmt.Errorf("child: %w", err)
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return use, res, fmt.Errorf("child result: %w", err)
	}
	return use, res, nil
}

func verifyArtifact(ctx context.Context, res hotpath.Result, id age.Identity) error {
	f, err := os.Open(res.ArtifactPath)
	if err != nil {
		return fmt.Errorf("verify xVault artifact: %w", err)
	}
	defer f.Close()
	got, err := archive.VerifyFile(ctx, f, id, res.Artifact.SHA256)
	if err != nil {
		return fmt.Errorf("verify xVault artifact: %w", err)
	}
	if got.Files != res.Artifact.Files || got.PlainBytes != res.Artifact.PlainBytes {
		return fmt.Errorf("verify xVault artifact: holds %d files / %d bytes, writer reported %d / %d",
			got.Files, got.PlainBytes, res.Artifact.Files, res.Artifact.PlainBytes)
	}
	return nil
}

// sshCommand is the ssh client invocation of the baseline, up to the remote command.
func sshCommand(e *env) string {
	return fmt.Sprintf("ssh -c aes128-gcm@openssh.com -i %s -p %d -o StrictHostKeyChecking=no "+
		"-o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR %s@%s",
		shellQuote(e.keyFile), e.srv.Port, e.srv.User, e.srv.Host)
}

// baselineScript is the reference pipeline of the issue.
func baselineScript(e *env, out string) string {
	return fmt.Sprintf("%s tar cf - -C / %s | zstd -3 -T0 -q | age -r %s > %s",
		sshCommand(e), shellQuote(strings.TrimPrefix(e.dataset, "/")), e.identity.Recipient(), shellQuote(out))
}

// sessionSetup measures `ssh HOST true`: the fixed cost of one exec session
// (handshake, and the login shell with its rc files on the server).
func sessionSetup(ctx context.Context, e *env) (usage, error) {
	u, err := measure(exec.CommandContext(ctx, "sh", "-c", sshCommand(e)+" true"), e.server)
	if err != nil {
		return u, fmt.Errorf("ssh %s true: %w", e.srv.Host, err)
	}
	return u, nil
}

// runBaseline runs the pipeline under sh; sh's rusage covers the whole
// pipeline because sh waits for every process of it. With verify, the
// output is decrypted and listed to check it holds every file.
func runBaseline(ctx context.Context, e *env, wantFiles int64, verify bool) (sample, error) {
	out := filepath.Join(e.work, "baseline.tar.zst.age")
	defer os.Remove(out)
	cmd := exec.CommandContext(ctx, "sh", "-c", baselineScript(e, out))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	use, err := measure(cmd, e.server)
	if err != nil {
		return sample{}, fmt.Errorf("baseline pipeline: %w", err)
	}
	st, err := os.Stat(out)
	if err != nil {
		return sample{}, fmt.Errorf("baseline output: %w", err)
	}
	s := sample{mode: "baseline", use: use, outBytes: st.Size()}
	if verify {
		n, err := countBaselineFiles(ctx, e, out)
		if err != nil {
			return s, err
		}
		if n != wantFiles {
			return s, fmt.Errorf("baseline output holds %d files, the dataset %d (a step of the pipeline failed?)", n, wantFiles)
		}
		s.detail = fmt.Sprintf("%d files, output verified with age -d | zstd -d | tar t", n)
	}
	return s, nil
}

func countBaselineFiles(ctx context.Context, e *env, out string) (int64, error) {
	idFile := filepath.Join(e.work, "identity.txt")
	if err := os.WriteFile(idFile, []byte(e.identity.String()+"\n"), 0o600); err != nil {
		return 0, err
	}
	script := fmt.Sprintf("set -e; age -d -i %s %s | zstd -d -q | tar tf - | grep -vc '/$'", shellQuote(idFile), shellQuote(out))
	list, err := exec.CommandContext(ctx, "sh", "-c", script).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return 0, fmt.Errorf("verify baseline output: %w: %s", err, ee.Stderr)
		}
		return 0, fmt.Errorf("verify baseline output: %w", err)
	}
	return strconv.ParseInt(strings.TrimSpace(string(list)), 10, 64)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
