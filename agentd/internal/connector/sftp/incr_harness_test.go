package sftp

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/sshexec"
	"github.com/xvault/xvault/agentd/internal/incremental"
	"github.com/xvault/xvault/internal/testutil/sshd"
	"github.com/xvault/xvault/sdk/archive"
)

// chain runs successive backups of one root through PullIncremental into
// real artifacts, and restores the newest through ChainReader and through
// GNU tar --listed-incremental, comparing both with the live tree.
type chain struct {
	t       *testing.T
	c       *Connector
	root    string
	key     *age.X25519Identity
	dir     string
	links   []link // oldest first
	parent  *incremental.Index
	last    *artifactSink
	lastRes *connector.IncrementalResult
}

type link struct {
	id, path, sha string
	position      int
}

func newChain(t *testing.T, transfer string, opts ...sshd.Options) *chain {
	t.Helper()
	s := sshd.Start(t, append(opts, sshd.Options{})[0])
	root := filepath.Join(t.TempDir(), "site")
	require.NoError(t, os.MkdirAll(root, 0o755))
	c := keyConnector(t, s, root)
	c.cfg.Transfer = transfer
	key, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	return &chain{t: t, c: c, root: root, key: key, dir: t.TempDir()}
}

// backup makes the next snapshot (a full when there is no parent) and
// checks its restore against the tree.
func (ch *chain) backup() *artifactSink {
	ch.t.Helper()
	s := ch.backupUnchecked()
	ch.checkRestore()
	return s
}

// backupUnchecked makes the next snapshot without comparing its restore.
func (ch *chain) backupUnchecked() *artifactSink {
	t := ch.t
	t.Helper()
	id := fmt.Sprintf("snp_%02d", len(ch.links))
	req := connector.IncrementalRequest{SnapshotID: id, Parent: ch.parent}
	if ch.parent != nil {
		req.FullSnapshotID = ch.links[0].id
		req.ChainPosition = len(ch.links)
	} else {
		req.FullSnapshotID = id
	}
	path := filepath.Join(ch.dir, id+".tar.zst.age")
	f, err := os.Create(path)
	require.NoError(t, err)
	w, err := archive.NewWriter(f, ch.key.Recipient(), archive.Options{})
	require.NoError(t, err)
	sink := &artifactSink{w: w, id: id, warns: map[string]error{}}
	res, err := ch.c.PullIncremental(t.Context(), sink, req)
	require.NoError(t, err)
	require.NoError(t, sink.end())
	r, err := w.Close()
	require.NoError(t, err)
	require.NoError(t, f.Close())
	if !res.Incremental {
		ch.links = nil
	}
	res.Index.Header.SnapshotID = id
	ch.links = append(ch.links, link{id: id, path: path, sha: r.SHA256, position: req.ChainPosition})
	ch.parent, ch.last, ch.lastRes = res.Index, sink, res
	return sink
}

// checkRestore restores the newest snapshot both ways and compares.
func (ch *chain) checkRestore() {
	t := ch.t
	t.Helper()
	want := snapshotTree(t, ch.root)
	viaTar := filepath.Join(t.TempDir(), "tar")
	require.NoError(t, os.Mkdir(viaTar, 0o700))
	keyFile := filepath.Join(t.TempDir(), "key.txt")
	require.NoError(t, os.WriteFile(keyFile, []byte(ch.key.String()+"\n"), 0o600))
	for _, l := range ch.links {
		cmd := exec.Command("sh", "-c", `age -d -i "$1" "$2" | zstd -dq | tar -x --listed-incremental=/dev/null -C "$3"`,
			"sh", keyFile, l.path, viaTar)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "GNU tar replay of %s: %s", l.id, out)
	}
	rel := strings.TrimPrefix(ch.root, "/")
	require.Equal(t, want, snapshotTree(t, filepath.Join(viaTar, "files", rel)), "GNU tar replay")

	viaChain := filepath.Join(t.TempDir(), "chain")
	var arts []archive.ChainArtifact
	for i := len(ch.links) - 1; i >= 0; i-- {
		l := ch.links[i]
		arts = append(arts, archive.ChainArtifact{SnapshotID: l.id, SHA256: l.sha,
			Open: func() (io.ReadCloser, error) { return os.Open(l.path) }})
	}
	cr, err := archive.NewChainReader(arts, ch.key, archive.ChainOptions{})
	require.NoError(t, err)
	extractSource(t, cr, viaChain)
	require.NoError(t, cr.Close())
	require.Equal(t, want, snapshotTree(t, filepath.Join(viaChain, "files", rel)), "ChainReader")
}

// node is what a restore must reproduce of one path.
type node struct {
	Type    string
	Mode    fs.FileMode
	ModTime int64 // seconds; directories are not compared (extraction order moves them)
	Content string
	Target  string
}

func snapshotTree(t *testing.T, root string) map[string]node {
	t.Helper()
	out := map[string]node{}
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		n := node{Mode: fi.Mode()}
		switch {
		case fi.IsDir():
			n.Type = "dir"
		case fi.Mode()&fs.ModeSymlink != 0:
			n.Type = "symlink"
			n.Target, _ = os.Readlink(p)
			n.Mode = 0
			n.ModTime = 0
		case fi.Mode().IsRegular():
			n.Type = "file"
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			n.Content = string(b)
			n.ModTime = fi.ModTime().Unix()
		default:
			return nil // fifos and sockets are not archived
		}
		out[rel] = n
		return nil
	}))
	return out
}

// extractSource writes the entries of src below dir (tests only: names were
// validated by the reader; modes applied, file mtimes set).
func extractSource(t *testing.T, src archive.Source, dir string) {
	t.Helper()
	var dirModes []func()
	for {
		hdr, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		p := filepath.Join(dir, filepath.FromSlash(strings.TrimSuffix(hdr.Name, "/")))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
		mode := fs.FileMode(hdr.Mode & 0o777)
		if hdr.Mode&0o4000 != 0 {
			mode |= fs.ModeSetuid
		}
		if hdr.Mode&0o2000 != 0 {
			mode |= fs.ModeSetgid
		}
		if hdr.Mode&0o1000 != 0 {
			mode |= fs.ModeSticky
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			require.NoError(t, os.MkdirAll(p, 0o700))
			dirModes = append(dirModes, func() { require.NoError(t, os.Chmod(p, mode)) })
		case tar.TypeSymlink:
			require.NoError(t, os.Symlink(hdr.Linkname, p))
		case tar.TypeReg:
			var b bytes.Buffer
			_, err := io.Copy(&b, src)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p, b.Bytes(), 0o600))
			require.NoError(t, os.Chmod(p, mode))
			require.NoError(t, os.Chtimes(p, hdr.ModTime, hdr.ModTime))
		}
	}
	for i := len(dirModes) - 1; i >= 0; i-- {
		dirModes[i]()
	}
}

// artifactSink writes a connector's entries into an archive.Writer in the
// snapshot layout, like the agent's sink, and counts file reads.
type artifactSink struct {
	w         *archive.Writer
	id        string
	desc      *archive.Descriptor
	filesRead int
	read      []string // names of the files read
	names     []string
	warns     map[string]error
}

func (s *artifactSink) Describe(d archive.Descriptor) error {
	if s.desc != nil {
		return errors.New("described twice")
	}
	d.LayoutVersion = archive.LayoutVersion
	if d.Kind == "incremental" {
		d.LayoutVersion = archive.LayoutIncremental
	}
	d.SnapshotID, d.SourceType, d.CreatedAt = s.id, "ssh", time.Now().UTC()
	if d.Warnings == nil {
		d.Warnings = []string{}
	}
	s.desc = &d
	return s.json(archive.DescriptorName, d)
}

func (s *artifactSink) json(name string, v any) error {
	b, err := jsonMarshal(v)
	if err != nil {
		return err
	}
	return s.w.Add(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(b)), ModTime: time.Now()}, bytes.NewReader(b))
}

func (s *artifactSink) Put(e connector.Entry, body io.Reader) error {
	if s.desc == nil {
		return errors.New("Put before Describe")
	}
	if e.Type == connector.TypeFile && e.Size > 0 {
		s.filesRead++
		s.read = append(s.read, e.Name)
	}
	s.names = append(s.names, e.Name)
	hdr := e.TarHeader()
	hdr.Name = archive.FilesPrefix + hdr.Name
	return s.w.Add(hdr, body)
}

func (s *artifactSink) end() error {
	return s.json(archive.EndName, archive.End{FinishedAt: time.Now().UTC(), Warnings: []string{}})
}

func (s *artifactSink) PutObject(string, int64, time.Time, io.Reader) error {
	return errors.New("unexpected object")
}
func (s *artifactSink) Note(string, any) {}
func (s *artifactSink) Warn(path string, err error) {
	if path != sshexec.ShellOutput { // rc-file noise of the test box, not about the tree
		s.warns[path] = err
	}
}
func (s *artifactSink) Progress(string) {}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
