package sshconn

import (
	"io/fs"
	"path"
	"slices"
	"strings"
)

// NormaliseRoots sorts the configured roots and drops duplicates and roots
// inside another root: each remote object is archived once, in one order,
// whichever transfer pulls it.
func NormaliseRoots(paths []string) []string {
	roots := slices.Clone(paths)
	slices.Sort(roots)
	roots = slices.Compact(roots)
	var kept []string
	for _, r := range roots {
		inside := slices.ContainsFunc(kept, func(k string) bool {
			return k == "/" || strings.HasPrefix(r, k+"/")
		})
		if !inside {
			kept = append(kept, r)
		}
	}
	return kept
}

// Parents lists the directories above root p, outermost first, without "/".
func Parents(p string) []string {
	var dirs []string
	for d := path.Dir(p); d != "/" && d != "."; d = path.Dir(d) {
		dirs = append(dirs, d)
	}
	slices.Reverse(dirs)
	return dirs
}

// Excluded reports whether the remote absolute path p matches one of the
// exclude patterns: a pattern is matched with [path.Match] against the full
// path and against its base name. Patterns must have been validated.
func Excluded(patterns []string, p string) bool {
	base := path.Base(p)
	for _, pat := range patterns {
		if ok, _ := path.Match(pat, p); ok {
			return true
		}
		if ok, _ := path.Match(pat, base); ok {
			return true
		}
	}
	return false
}

// PermMode keeps the permission bits and setuid/setgid/sticky of a POSIX mode.
func PermMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}
