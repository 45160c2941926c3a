package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidName is wrapped by every error [ValidName] returns.
var ErrInvalidName = errors.New("invalid entry name")

// ValidName reports whether name may be an entry name in an artifact: a
// non-empty, slash-separated, relative and clean path ("var/www/index.html")
// with no NUL byte, no "." or ".." element, no empty element, and no leading or
// trailing slash. Connectors use it before archiving and restores before
// extracting. The returned error wraps [ErrInvalidName] and quotes the name.
func ValidName(name string) error {
	if reason := nameProblem(name); reason != "" {
		return fmt.Errorf("%w %q: %s", ErrInvalidName, name, reason)
	}
	return nil
}

func nameProblem(name string) string {
	switch {
	case name == "":
		return "empty"
	case strings.IndexByte(name, 0) >= 0:
		return "contains a NUL byte"
	case strings.HasPrefix(name, "/"):
		return "absolute"
	case strings.HasSuffix(name, "/"):
		return "trailing slash"
	}
	for elem := range strings.SplitSeq(name, "/") {
		switch elem {
		case "":
			return "empty path element"
		case ".":
			return `"." path element`
		case "..":
			return `".." path element`
		}
	}
	return ""
}

// entryName returns the name of hdr as ValidName sees it: directories may
// carry the customary trailing slash inside the tar.
func entryName(hdr *tar.Header) string {
	if hdr.Typeflag == tar.TypeDir {
		return strings.TrimSuffix(hdr.Name, "/")
	}
	return hdr.Name
}

// allowedType reports whether an entry of this type may appear in an artifact.
func allowedType(flag byte) bool {
	switch flag {
	case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink,
		tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return true
	}
	return false
}

// checkHeader validates the name, type and link target of an entry.
func checkHeader(hdr *tar.Header) error {
	name := entryName(hdr)
	if err := ValidName(name); err != nil {
		return err
	}
	if !allowedType(hdr.Typeflag) {
		return fmt.Errorf("entry %q: unsupported tar type %q", name, hdr.Typeflag)
	}
	if hdr.Typeflag == tar.TypeLink {
		if err := ValidName(hdr.Linkname); err != nil {
			return fmt.Errorf("entry %q: hard link target: %w", name, err)
		}
	}
	if hdr.Typeflag == tar.TypeSymlink && strings.IndexByte(hdr.Linkname, 0) >= 0 {
		return fmt.Errorf("entry %q: symlink target contains a NUL byte", name)
	}
	if hdr.Size < 0 || (hdr.Typeflag != tar.TypeReg && hdr.Size != 0) {
		return fmt.Errorf("entry %q: size %d not allowed for tar type %q", name, hdr.Size, hdr.Typeflag)
	}
	return nil
}
