package archive

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"filippo.io/age"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	sdkarchive "github.com/xvault/xvault/sdk/archive"
)

// chainFile is one artifact file given to `xv archive extract`.
type chainFile struct {
	path, sha string
	desc      *sdkarchive.Descriptor
}

func (c *chainFile) id() string { return c.desc.SnapshotID }

func (c *chainFile) position() int {
	if c.desc.Incremental == nil {
		return 0
	}
	return c.desc.Incremental.ChainPosition
}

// openChain reads each file's descriptor, orders the files tip first and
// checks that they link up to one full, then assembles them.
func openChain(opts *extractOptions, id age.Identity) (*sdkarchive.ChainReader, error) {
	files := make([]*chainFile, 0, len(opts.Files))
	for i, p := range opts.Files {
		d, err := describeFile(p, id)
		if err != nil {
			return nil, err
		}
		cf := &chainFile{path: p, desc: d}
		if len(opts.SHA256s) > 0 {
			cf.sha = opts.SHA256s[i]
		}
		files = append(files, cf)
	}
	chain, err := orderChain(files)
	if err != nil {
		return nil, err
	}
	links := make([]sdkarchive.ChainArtifact, 0, len(chain))
	for _, cf := range chain {
		path := cf.path
		links = append(links, sdkarchive.ChainArtifact{SnapshotID: cf.id(), SHA256: cf.sha,
			Open: func() (io.ReadCloser, error) { return os.Open(path) }})
	}
	return sdkarchive.NewChainReader(links, id, sdkarchive.ChainOptions{Paths: opts.Paths})
}

// describeFile reads the descriptor (the first entry) of an artifact file.
func describeFile(path string, id age.Identity) (*sdkarchive.Descriptor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	rd, err := sdkarchive.NewReader(bufio.NewReaderSize(f, 64<<10), id, sdkarchive.ReadOptions{})
	if err != nil {
		return nil, cmdutil.WithHint(fmt.Errorf("%s: %w", path, err), "is KEYFILE the identity of this artifact's tenant?")
	}
	defer func() { _ = rd.Close() }()
	hdr, err := rd.Next()
	if err != nil {
		return nil, fmt.Errorf("%s: read first entry: %w", path, err)
	}
	if hdr.Name != sdkarchive.DescriptorName {
		return nil, fmt.Errorf("%s has no %s (made before incremental snapshots): extract it alone", path, sdkarchive.DescriptorName)
	}
	d, _, err := sdkarchive.ReadDescriptor(hdr, rd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if d.SnapshotID == "" {
		return nil, fmt.Errorf("%s names no snapshot id (made before incremental snapshots): extract it alone", path)
	}
	return d, nil
}

// orderChain orders files tip first, down to the full, and checks that
// each incremental's parent was given and that nothing else was.
func orderChain(files []*chainFile) ([]*chainFile, error) {
	byID := make(map[string]*chainFile, len(files))
	var tip *chainFile
	for _, cf := range files {
		if other, dup := byID[cf.id()]; dup {
			return nil, fmt.Errorf("%s and %s are both snapshot %s", other.path, cf.path, cf.id())
		}
		byID[cf.id()] = cf
		switch {
		case tip == nil || cf.position() > tip.position():
			tip = cf
		case cf.position() == tip.position():
			return nil, fmt.Errorf("%s (%s) and %s (%s) both have chain_position %d: they are not one chain",
				tip.path, tip.id(), cf.path, cf.id(), cf.position())
		}
	}
	chain := []*chainFile{tip}
	for cur := tip; cur.desc.Incremental != nil; {
		parent := cur.desc.Incremental.ParentSnapshotID
		next, ok := byID[parent]
		if !ok {
			return nil, cmdutil.WithHint(fmt.Errorf("chain incomplete: %s names parent %s, which was not given", cur.id(), parent),
				"pass every artifact of the chain; xv snapshot show %s lists them", tip.id())
		}
		chain = append(chain, next)
		cur = next
	}
	if len(chain) < len(files) {
		in := make(map[*chainFile]bool, len(chain))
		for _, cf := range chain {
			in[cf] = true
		}
		for _, cf := range files {
			if !in[cf] {
				return nil, fmt.Errorf("%s (snapshot %s) is not in the chain of %s", cf.path, cf.id(), tip.id())
			}
		}
	}
	return chain, nil
}

// incrementalHint explains a single incremental artifact given alone.
func incrementalHint(file string, err error) error {
	var ie *sdkarchive.IncrementalError
	if !errors.As(err, &ie) {
		return nil
	}
	return cmdutil.WithHint(fmt.Errorf("%s: %w", file, ie),
		"pass every artifact of its chain (%s names parent %s): xv archive extract FILE... --identity KEYFILE --to DIR; xv snapshot show %s lists them",
		ie.SnapshotID, ie.ParentSnapshotID, ie.SnapshotID)
}
