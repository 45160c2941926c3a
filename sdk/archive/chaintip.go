package archive

import (
	"archive/tar"
	"fmt"
	"maps"
	"path"
	"slices"
)

// tipState is what the chain reader keeps of the tip: its directories with
// their last dumpdir, and the names of the other entries it stores.
type tipState struct {
	// dirs maps every directory of the tip to its children (name → dumpdir
	// code); nil for a directory without a dumpdir (a parent of the
	// configured paths).
	dirs   map[string]map[string]byte
	stored map[string]struct{} // non-directories the tip stores
}

func newTipState() *tipState {
	return &tipState{dirs: map[string]map[string]byte{}, stored: map[string]struct{}{}}
}

// covers reports whether name is, or lies below, a directory of the tip
// that carries a dumpdir: the tip's dumpdirs then decide whether it exists.
func (t *tipState) covers(name string) bool {
	for d := name; d != "." && d != "" && d != "/"; d = path.Dir(d) {
		if t.dirs[d] != nil {
			return true
		}
	}
	return false
}

// has reports whether the tip holds an entry of that name.
func (t *tipState) has(name string) bool {
	if _, ok := t.dirs[name]; ok {
		return true
	}
	_, ok := t.stored[name]
	return ok
}

// entry records one files/ entry of the tip and reports whether it is
// passed on (a directory repeated as a correction is not).
func (t *tipState) entry(hdr *tar.Header) (bool, error) {
	name := hdr.Name
	parent, base := path.Dir(name), path.Base(name)
	listing, seen := t.dirs[parent]
	if !seen && t.covers(parent) {
		return false, fmt.Errorf("%s comes before its directory %s", name, parent)
	}
	dd, hasDD := hdr.PAXRecords[DumpdirKey]
	if hdr.Typeflag != tar.TypeDir {
		if hasDD {
			return false, fmt.Errorf("%s carries a %s record but is not a directory", name, DumpdirKey)
		}
		return true, t.nonDir(name, parent, listing, base)
	}
	if listing != nil && listing[base] != DumpdirDir {
		return false, fmt.Errorf("directory %s is %s by the dumpdir of %s", name, listed(listing[base]), parent)
	}
	if listing != nil && !hasDD {
		return false, fmt.Errorf("directory %s inside a configured path has no %s record", name, DumpdirKey)
	}
	if _, ok := t.stored[name]; ok {
		return false, fmt.Errorf("%s is stored both as a file and as a directory", name)
	}
	var children map[string]byte
	if hasDD {
		kids, err := ParseDumpdir(dd)
		if err != nil {
			return false, fmt.Errorf("directory %s: %w", name, err)
		}
		children = make(map[string]byte, len(kids))
		for _, k := range kids {
			children[k.Name] = k.Code
		}
	}
	prev, again := t.dirs[name]
	switch {
	case again && prev == nil && children == nil:
		return false, nil // a parent of two configured paths, listed for each
	case again && (prev == nil || children == nil):
		return false, fmt.Errorf("directory %s appears twice, once without a dumpdir (only a correction repeats a directory)", name)
	}
	t.dirs[name] = children
	return !again, nil
}

func (t *tipState) nonDir(name, parent string, listing map[string]byte, base string) error {
	if listing != nil && listing[base] != DumpdirStored {
		return fmt.Errorf("%s is stored but %s by the dumpdir of %s", name, listed(listing[base]), parent)
	}
	if _, dup := t.stored[name]; dup {
		return fmt.Errorf("%s is stored twice", name)
	}
	if _, ok := t.dirs[name]; ok {
		return fmt.Errorf("%s is stored both as a directory and as a file", name)
	}
	t.stored[name] = struct{}{}
	return nil
}

func listed(code byte) string {
	if code == 0 {
		return "not listed"
	}
	return fmt.Sprintf("listed %c", code)
}

// finish runs at the clean end of the tip: every child its last dumpdirs
// list as stored (Y) or as a directory (D) must be in the tip, every entry
// the tip stores must be listed so, and each selected N child is wanted.
func (t *tipState) finish(tip string, paths []string, want map[string]struct{}) error {
	for _, d := range slices.Sorted(maps.Keys(t.dirs)) {
		kids := t.dirs[d]
		if kids == nil {
			continue
		}
		if p := t.dirs[path.Dir(d)]; p != nil && p[path.Base(d)] != DumpdirDir {
			return fmt.Errorf("archive: snapshot %s: directory %s is %s by the last dumpdir of %s", tip, d, listed(p[path.Base(d)]), path.Dir(d))
		}
		for _, k := range slices.Sorted(maps.Keys(kids)) {
			full := d + "/" + k
			switch kids[k] {
			case DumpdirStored:
				if _, ok := t.stored[full]; !ok {
					return fmt.Errorf("archive: chain broken: the dumpdir of %s in snapshot %s lists %s as stored, but the artifact does not hold it", d, tip, full)
				}
			case DumpdirDir:
				if t.dirs[full] == nil {
					return fmt.Errorf("archive: chain broken: the dumpdir of %s in snapshot %s lists the directory %s, but the artifact does not hold it", d, tip, full)
				}
			case DumpdirUnchanged:
				if Selected(paths, full) {
					want[full] = struct{}{}
				}
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(t.stored)) {
		p, base := path.Dir(name), path.Base(name)
		if kids := t.dirs[p]; kids != nil && kids[base] != DumpdirStored {
			return fmt.Errorf("archive: snapshot %s stores %s, but the last dumpdir of %s has it %s", tip, name, p, listed(kids[base]))
		}
	}
	return nil
}
