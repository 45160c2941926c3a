package archive

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Source yields tar entries like tar.Reader: Next, then Read the current
// entry's body. [Reader] and [ChainReader] implement it.
type Source interface {
	Next() (*tar.Header, error)
	Read(p []byte) (int, error)
}

// maxDescriptorBytes bounds xvault.json and xvault.end.json when they are
// held in memory (a descriptor lists at most 10,000 deleted paths).
const maxDescriptorBytes = 32 << 20

// IncrementalError is returned by a single-artifact reader ([RefuseIncremental])
// that meets an incremental snapshot: its artifact holds only what changed
// since its parent, so it must be assembled with its chain ([ChainReader]).
type IncrementalError struct {
	SnapshotID       string
	ParentSnapshotID string
}

func (e *IncrementalError) Error() string {
	return fmt.Sprintf("snapshot %s is incremental: restore its chain", e.SnapshotID)
}

// ReadDescriptor reads the body of an xvault.json entry (at most 32 MiB) and
// decodes it. It returns the raw bytes too, so a caller can pass the entry on
// unchanged. It checks what a chain relies on: a known layout version, and
// for layout 3 the snapshot id, kind and incremental fields.
func ReadDescriptor(hdr *tar.Header, body io.Reader) (*Descriptor, []byte, error) {
	raw, err := readSmall(hdr, body)
	if err != nil {
		return nil, nil, err
	}
	var d Descriptor
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, nil, fmt.Errorf("%s: not a JSON descriptor: %w", DescriptorName, err)
	}
	if err := checkDescriptor(&d); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", DescriptorName, err)
	}
	return &d, raw, nil
}

// readSmall reads the body of a small JSON entry (descriptor, end record).
func readSmall(hdr *tar.Header, body io.Reader) ([]byte, error) {
	if hdr.Typeflag != tar.TypeReg {
		return nil, fmt.Errorf("%s is not a regular file (tar type %q)", hdr.Name, hdr.Typeflag)
	}
	if hdr.Size > maxDescriptorBytes {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d allowed", hdr.Name, hdr.Size, maxDescriptorBytes)
	}
	raw, err := io.ReadAll(io.LimitReader(body, maxDescriptorBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", hdr.Name, err)
	}
	return raw, nil
}

func checkDescriptor(d *Descriptor) error {
	switch d.LayoutVersion {
	case LayoutVersion:
		if len(d.AssembledFrom) > 0 { // a chain assembled by ChainReader
			return nil
		}
		if d.Kind != "" && d.Kind != "full" {
			return fmt.Errorf("layout_version 2 with kind %q: want \"full\"", d.Kind)
		}
		if d.Incremental != nil {
			return errors.New("layout_version 2 with an incremental section")
		}
		return nil
	case LayoutIncremental:
	default:
		return fmt.Errorf("unknown layout_version %d (hint: a newer xVault wrote it; update this program)", d.LayoutVersion)
	}
	inc := d.Incremental
	switch {
	case d.SnapshotID == "":
		return errors.New("incremental without snapshot_id")
	case d.Kind != "incremental":
		return fmt.Errorf("layout_version 3 with kind %q: want \"incremental\"", d.Kind)
	case inc == nil:
		return errors.New("incremental without its incremental section")
	case inc.ParentSnapshotID == "" || inc.FullSnapshotID == "":
		return errors.New("incremental without parent_snapshot_id or full_snapshot_id")
	case inc.ChainPosition < 1:
		return fmt.Errorf("incremental with chain_position %d: want 1 or more", inc.ChainPosition)
	case inc.ParentSnapshotID == d.SnapshotID:
		return fmt.Errorf("incremental %s names itself as its parent", d.SnapshotID)
	}
	return nil
}

// RefuseIncremental wraps a single artifact's entries: it passes them on
// unchanged, but fails with an [*IncrementalError] when the first entry is
// the descriptor of an incremental snapshot (layout_version 3), which holds
// only what changed since its parent. A descriptor that does not decode is
// passed on: it cannot be an incremental xVault wrote, and extracting it
// anyway serves disaster recovery best.
func RefuseIncremental(src Source) Source {
	return &wholeSource{src: src}
}

type wholeSource struct {
	src     Source
	checked bool
	body    io.Reader // the buffered descriptor, while it is the current entry
}

func (w *wholeSource) Next() (*tar.Header, error) {
	w.body = nil
	hdr, err := w.src.Next()
	if err != nil || w.checked {
		return hdr, err
	}
	w.checked = true
	if hdr.Name != DescriptorName || hdr.Typeflag != tar.TypeReg || hdr.Size > maxDescriptorBytes {
		return hdr, nil
	}
	raw, err := io.ReadAll(w.src)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", DescriptorName, err)
	}
	var probe struct {
		LayoutVersion int          `json:"layout_version"`
		SnapshotID    string       `json:"snapshot_id"`
		Incremental   *Incremental `json:"incremental"`
	}
	if json.Unmarshal(raw, &probe) == nil && probe.LayoutVersion >= LayoutIncremental {
		e := &IncrementalError{SnapshotID: probe.SnapshotID}
		if probe.Incremental != nil {
			e.ParentSnapshotID = probe.Incremental.ParentSnapshotID
		}
		return nil, e
	}
	w.body = bytes.NewReader(raw)
	return hdr, nil
}

func (w *wholeSource) Read(p []byte) (int, error) {
	if w.body != nil {
		return w.body.Read(p)
	}
	return w.src.Read(p)
}

// Result passes on the wrapped source's Result when it has one.
func (w *wholeSource) Result() Result {
	if r, ok := w.src.(interface{ Result() Result }); ok {
		return r.Result()
	}
	return Result{}
}

// assembledDescriptor rewrites the tip's descriptor for the assembled
// stream: layout_version 2, since the stream is a whole tree, and
// assembled_from listing the chain's snapshot ids, tip first. Every other
// field stays as the tip wrote it (unknown ones included).
func assembledDescriptor(raw []byte, ids []string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", DescriptorName, err)
	}
	m["layout_version"] = json.RawMessage(fmt.Sprint(LayoutVersion))
	from, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	m["assembled_from"] = from
	return json.Marshal(m)
}
