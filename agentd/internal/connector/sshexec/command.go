package sshexec

import (
	"path"
	"strings"
)

// Quote makes s one word for a POSIX shell: single quotes around it, and each
// single quote inside written as '\” (close, escaped quote, reopen). Inside
// single quotes the shell interprets nothing: no $, `, \, ;, newline or glob.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// splitRoot returns the directory tar changes into (-C) and the member name
// it archives for a configured root: "/var/www" → "/var", "www";
// "/" → "/", ".". Names in the stream are then relative to dir.
func splitRoot(root string) (dir, name string) {
	if root == "/" {
		return "/", "."
	}
	return path.Dir(root), path.Base(root)
}

// createOptions are the flavour's options for the stream of one root: no
// compression, numeric owners, symlinks archived as links (no -h), hard links
// archived as files where the tar can, a stable entry order where it can,
// unreadable files reported as warnings where it can.
func (t Tar) createOptions() []string {
	switch t.Flavour {
	case GNU:
		opts := []string{"--format=gnu", "--numeric-owner", "--hard-dereference", "--ignore-failed-read",
			"--no-wildcards-match-slash"}
		if t.Sort {
			opts = append(opts, "--sort=name")
		}
		return opts
	case BSD:
		return []string{"--numeric-owner"}
	default: // BusyBox
		return []string{"--numeric-owner"}
	}
}

// Command is the command line that archives one configured root (absolute
// and clean) to stdout. Every value from the configuration is quoted.
func (t Tar) Command(root string, exclude []string) string {
	dir, name := splitRoot(root)
	args := []string{"tar", "-c", "-f", "-"}
	args = append(args, t.createOptions()...)
	args = append(args, t.excludeOptions(dir, name, exclude)...)
	args = append(args, "-C", Quote(dir), "--", Quote(name))
	return strings.Join(args, " ")
}

// ParentsCommand is the command line that archives the given directories
// (absolute, clean, not "/") alone, without their content and following
// symlinks, as the SFTP transfer Stat-s the parents of a root.
func (t Tar) ParentsCommand(dirs []string) string {
	args := []string{"tar", "-c", "-f", "-"}
	switch t.Flavour {
	case GNU:
		args = append(args, "--format=gnu", "--numeric-owner", "--no-recursion", "--dereference")
	case BSD:
		args = append(args, "--numeric-owner", "-n", "-L")
	default:
		args = append(args, "--no-recursion", "-h")
	}
	args = append(args, "-C", "/", "--")
	for _, d := range dirs {
		args = append(args, Quote(strings.TrimPrefix(d, "/")))
	}
	return strings.Join(args, " ")
}

// excludeOptions translates the exclude patterns the server's tar can apply
// with the same meaning as the agent (see package sftp): the agent filters
// the stream again anyway, so a pattern that cannot be translated exactly is
// left out, never approximated; the server then sends data the agent drops.
//
//   - A pattern without "/" matches a base name. GNU tar (with
//     --no-wildcards-match-slash, unanchored) matches it against every name
//     element, as the agent does along its walk; bsdtar's "*" crosses "/",
//     so it gets only patterns without wildcards. BusyBox gets none: many
//     builds (Debian's among them) lack --exclude.
//   - A pattern starting with dir+"/" matches the full path; GNU tar gets it
//     anchored, relative to dir. The other flavours do not.
//   - Patterns with "[" or "\" are never translated: bracket and escape
//     rules differ between fnmatch and Go's path.Match.
func (t Tar) excludeOptions(dir, root string, exclude []string) []string {
	if t.Flavour == BusyBox {
		return nil
	}
	var basenames, anchored []string
	for _, p := range exclude {
		if strings.ContainsAny(p, `[\`) {
			continue
		}
		switch {
		case !strings.Contains(p, "/"):
			if t.Flavour == BSD && strings.ContainsAny(p, "*?") {
				continue
			}
			basenames = append(basenames, p)
		case t.Flavour == GNU:
			prefix := strings.TrimSuffix(dir, "/") + "/"
			if rel, ok := strings.CutPrefix(p, prefix); ok && rel != "" && !strings.ContainsAny(prefix, "*?") {
				if dir == "/" && root == "." {
					rel = "./" + rel // names of the "/" root are "./etc/…"
				}
				anchored = append(anchored, rel)
			}
		}
	}
	var opts []string
	for _, p := range basenames {
		opts = append(opts, "--exclude="+Quote(p))
	}
	if len(anchored) > 0 {
		opts = append(opts, "--anchored")
		for _, p := range anchored {
			opts = append(opts, "--exclude="+Quote(p))
		}
		opts = append(opts, "--no-anchored")
	}
	return opts
}
