package archive

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// DumpdirKey is the PAX extended-header keyword of GNU tar's incremental
// directory listing (GNU tar manual, "Dumpdir"): a directory member of an
// incremental artifact carries it, naming every child the directory had
// when the snapshot was taken.
const DumpdirKey = "GNU.dumpdir"

// Dumpdir codes (one byte before each child's name).
const (
	DumpdirStored    byte = 'Y' // the child is in this artifact
	DumpdirUnchanged byte = 'N' // the child exists but is in an earlier artifact of the chain
	DumpdirDir       byte = 'D' // the child is a directory (always in this artifact)
)

// maxDumpdir is the largest dumpdir value written: Go's archive/tar refuses
// to read PAX headers above 1 MiB.
const maxDumpdir = 1_000_000

// ErrDumpdirTooLarge is returned by EncodeDumpdir for a directory with so
// many children that its dumpdir would not fit one PAX header.
var ErrDumpdirTooLarge = errors.New("dumpdir exceeds 1,000,000 bytes")

// DumpdirChild is one child of a directory in a dumpdir.
type DumpdirChild struct {
	Name string // one path element: no "/", no NUL, not "." or ".."
	Code byte   // DumpdirStored, DumpdirUnchanged or DumpdirDir
}

// EncodeDumpdir renders children as a GNU.dumpdir value: "C name \0" per
// child, sorted by name bytes, then one more NUL (an empty directory is the
// single byte "\0"). children is not modified.
func EncodeDumpdir(children []DumpdirChild) (string, error) {
	sorted := slices.Clone(children)
	slices.SortFunc(sorted, func(a, b DumpdirChild) int { return strings.Compare(a.Name, b.Name) })
	n := 1
	for i, c := range sorted {
		if err := checkDumpdirChild(c); err != nil {
			return "", err
		}
		if i > 0 && sorted[i-1].Name == c.Name {
			return "", fmt.Errorf("dumpdir: child %q listed twice", c.Name)
		}
		n += len(c.Name) + 2
	}
	if n > maxDumpdir {
		return "", fmt.Errorf("%w (%d children)", ErrDumpdirTooLarge, len(sorted))
	}
	var b strings.Builder
	b.Grow(n)
	for _, c := range sorted {
		b.WriteByte(c.Code)
		b.WriteString(c.Name)
		b.WriteByte(0)
	}
	b.WriteByte(0)
	return b.String(), nil
}

// ParseDumpdir reads a GNU.dumpdir value written by EncodeDumpdir or GNU tar.
// It refuses unknown codes (including GNU tar's rename codes R, T and X,
// which xVault never writes), bad names, duplicates and a missing end.
func ParseDumpdir(v string) ([]DumpdirChild, error) {
	b := []byte(v)
	var out []DumpdirChild
	seen := make(map[string]bool)
	for {
		if len(b) == 0 {
			return nil, errors.New("dumpdir: missing final NUL")
		}
		if b[0] == 0 {
			if len(b) != 1 {
				return nil, errors.New("dumpdir: data after the final NUL")
			}
			return out, nil
		}
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			return nil, errors.New("dumpdir: unterminated entry")
		}
		c := DumpdirChild{Code: b[0], Name: string(b[1:i])}
		if err := checkDumpdirChild(c); err != nil {
			return nil, err
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("dumpdir: child %q listed twice", c.Name)
		}
		seen[c.Name] = true
		out = append(out, c)
		b = b[i+1:]
	}
}

func checkDumpdirChild(c DumpdirChild) error {
	switch c.Code {
	case DumpdirStored, DumpdirUnchanged, DumpdirDir:
	default:
		return fmt.Errorf("dumpdir: child %q has unknown code %q", c.Name, c.Code)
	}
	if c.Name == "" || c.Name == "." || c.Name == ".." || strings.ContainsAny(c.Name, "/\x00") {
		return fmt.Errorf("dumpdir: bad child name %q", c.Name)
	}
	return nil
}
