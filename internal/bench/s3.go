//go:build xvbench

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/xvault/xvault/internal/bench/hotpath"
	"github.com/xvault/xvault/internal/testutil/s3server"
	"github.com/xvault/xvault/sdk/archive"
)

// s3Env is the S3 modes' server: versitygw with its POSIX backend under the
// work directory, on the same disk as the local_fs rows' store, so that the
// two rows differ by the sink alone.
type s3Env struct {
	srv    *s3server.Server
	client *minio.Client // root credential: the bench's own look at the bucket
}

// s3Row is what an S3 row carries besides the usage.
type s3Row struct {
	transfer        string
	serverCPU       float64 // versitygw's CPU seconds during the run
	pullSeconds     float64 // connect … last part handed to the upload
	completeSeconds float64 // Upload.Complete: last part, CompleteMultipartUpload, HEAD
	commitSeconds   float64 // Complete, then meta.json and manifest.json
	peakBuffers     int64   // part-buffer memory the upload held at most
}

// startS3 starts versitygw on first use.
func (e *env) startS3() (*s3Env, error) {
	if e.s3 != nil {
		return e.s3, nil
	}
	srv, err := s3server.Launch(filepath.Join(e.work, "s3"))
	if err != nil {
		return nil, fmt.Errorf("start versitygw: %w", err)
	}
	client, err := srv.Client()
	if err != nil {
		srv.Stop()
		return nil, err
	}
	e.s3 = &s3Env{srv: srv, client: client}
	return e.s3, nil
}

func (e *env) stopS3() {
	if e.s3 != nil {
		e.s3.srv.Stop()
	}
}

// s3Transfer is the connector transfer of an S3 mode: "s3" is exec, like
// the agent's default, "sftp-s3" is sftp.
func s3Transfer(mode string) string {
	if mode == "sftp-s3" {
		return "sftp"
	}
	return "exec"
}

// runS3 is runXVault with the artifact uploaded to versitygw by the child.
// Every run reads the object back and checks its size and sha256 against
// what the artifact writer reported, and manifest.json against both (the
// child's Complete checked them too, but a bench must not trust the code it
// measures); with x.verify the artifact is also decrypted and read through
// (archive.VerifyFile). The snapshot's objects are removed afterwards.
func runS3(ctx context.Context, e *env, run int, x xvRun) (sample, error) {
	mode := "xVault " + x.transfer + " → s3"
	if e.overlay != "" {
		mode += " (-overlay)"
	}
	s3, err := e.startS3()
	if err != nil {
		return sample{}, err
	}
	srv := s3.srv
	spec := hotpath.Spec{
		Host: e.srv.Host, Port: e.srv.Port, User: e.srv.User, PrivateKey: e.srv.ClientKey,
		HostKey: e.srv.HostKeyFingerprint, Paths: []string{e.dataset}, Transfer: x.transfer,
		Recipient: e.identity.Recipient().String(), CPUProfile: x.cpuProfile,
		S3: &hotpath.S3Spec{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Region: srv.Region,
			AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey, SnapshotID: "run-" + strconv.Itoa(run)},
	}
	before, err := processCPU(srv.PID())
	if err != nil {
		return sample{}, err
	}
	use, res, err := runChild(ctx, e, spec)
	defer s3.removeRun(ctx, spec.S3.SnapshotID)
	if err != nil {
		return sample{}, fmt.Errorf("%s: %w", mode, err)
	}
	after, err := processCPU(srv.PID())
	if err != nil {
		return sample{}, err
	}
	if res.S3 == nil {
		return sample{}, fmt.Errorf("%s: the child reported no upload", mode)
	}
	s := sample{mode: mode, use: use, outBytes: res.Artifact.StoredBytes, s3: &s3Row{
		transfer: x.transfer, serverCPU: after - before, pullSeconds: res.PullSeconds,
		completeSeconds: res.S3.CompleteSeconds, commitSeconds: res.CommitSeconds, peakBuffers: res.S3.PeakBufferBytes,
	}}
	s.detail = fmt.Sprintf("pull+archive+parts %.1fs, complete (last part, CompleteMultipartUpload, HEAD) %.2fs, "+
		"meta+manifest %.2fs, peak part buffers %s, versitygw CPU %.1fs, %d files, %d warnings",
		res.PullSeconds, res.S3.CompleteSeconds, res.CommitSeconds-res.S3.CompleteSeconds, mib(res.S3.PeakBufferBytes),
		s.s3.serverCPU, res.Artifact.Files, res.Warnings)
	note, err := s3.check(ctx, res, e, x.verify)
	if err != nil {
		return s, fmt.Errorf("%s: %w", mode, err)
	}
	s.detail += ", " + note
	return s, nil
}

// check reads the artifact object back and compares it, and manifest.json,
// with the writer's result; verify also decrypts and reads it through.
func (s3 *s3Env) check(ctx context.Context, res hotpath.Result, e *env, verify bool) (string, error) {
	bucket, key := s3.srv.Bucket, res.ArtifactPath
	obj, err := s3.client.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return "", fmt.Errorf("read back %s from bucket %s: %w", key, bucket, err)
	}
	defer obj.Close()
	h := sha256.New()
	n := &countWriter{}
	r := io.TeeReader(obj, io.MultiWriter(h, n))
	note := "object read back: size and sha256 match"
	if verify {
		got, err := archive.VerifyFile(ctx, r, e.identity, res.Artifact.SHA256)
		if err != nil {
			return "", fmt.Errorf("verify object %s: %w", key, err)
		}
		if got.Files != res.Artifact.Files || got.PlainBytes != res.Artifact.PlainBytes {
			return "", fmt.Errorf("verify object %s: holds %d files / %d bytes, writer reported %d / %d",
				key, got.Files, got.PlainBytes, res.Artifact.Files, res.Artifact.PlainBytes)
		}
		note += ", artifact verified (archive.VerifyFile with the identity)"
	}
	if _, err := io.Copy(io.Discard, r); err != nil { // VerifyFile may stop at the end of the age stream
		return "", fmt.Errorf("read back %s from bucket %s: %w", key, bucket, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if n.n != res.Artifact.StoredBytes || sum != res.Artifact.SHA256 {
		return "", fmt.Errorf("bucket %s holds %s with %d bytes, sha256 %s; the writer reported %d bytes, sha256 %s",
			bucket, key, n.n, sum, res.Artifact.StoredBytes, res.Artifact.SHA256)
	}
	if err := s3.checkManifest(ctx, res); err != nil {
		return "", err
	}
	return note + ", manifest.json matches", nil
}

func (s3 *s3Env) checkManifest(ctx context.Context, res hotpath.Result) error {
	key := res.S3.Prefix + archive.ManifestName
	obj, err := s3.client.GetObject(ctx, s3.srv.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return fmt.Errorf("read %s from bucket %s: %w", key, s3.srv.Bucket, err)
	}
	defer obj.Close()
	var m archive.Manifest
	if err := json.NewDecoder(obj).Decode(&m); err != nil {
		return fmt.Errorf("read %s from bucket %s: %w", key, s3.srv.Bucket, err)
	}
	if m.SHA256 != res.Artifact.SHA256 || m.StoredBytes != res.Artifact.StoredBytes {
		return fmt.Errorf("%s says %d bytes, sha256 %s; the writer reported %d bytes, sha256 %s",
			key, m.StoredBytes, m.SHA256, res.Artifact.StoredBytes, res.Artifact.SHA256)
	}
	return nil
}

// removeRun deletes the objects of one run's snapshot, so that runs do not
// fill the disk; a failure is only reported.
func (s3 *s3Env) removeRun(ctx context.Context, snapshotID string) {
	prefix := "tenants/bench/sources/dataset/snapshots/" + snapshotID + "/"
	for o := range s3.client.ListObjects(ctx, s3.srv.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err == nil {
			o.Err = s3.client.RemoveObject(ctx, s3.srv.Bucket, o.Key, minio.RemoveObjectOptions{})
		}
		if o.Err != nil {
			fmt.Fprintf(os.Stderr, "bench: remove %s from bucket %s: %v\n", o.Key, s3.srv.Bucket, o.Err)
			return
		}
	}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// processCPU returns the user+system seconds pid has used (all its threads;
// /proc/PID/stat fields 14 and 15).
func processCPU(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read versitygw's CPU time: %w", err)
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // f[0] is field 3, "state"
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat %q", pid, s)
	}
	var ticks uint64
	for _, i := range []int{11, 12} { // fields 14 utime and 15 stime
		n, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return float64(ticks) / clockTicks, nil
}
