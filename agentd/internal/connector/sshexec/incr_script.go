package sshexec

import (
	"strings"
)

// findFormat is the -printf format of every listing find: exactly
// listFields NUL-terminated fields per entry (docs/incremental.md, section 2).
const findFormat = `%y\0%d\0%f\0%s\0%T@\0%C@\0%i\0%m\0%U\0%G\0%n\0%l\0`

// listFields is the number of fields findFormat prints per entry.
const listFields = 12

// listingBanner is the first field the listing script prints.
const listingBanner = "xv-incr 1"

// The fixed lines of the listing script. Only quoted roots, parents and
// prune patterns are put between them.
const (
	scriptHead = "LC_ALL=C; export LC_ALL\n" +
		"t=$(tar --version 2>&1 </dev/null | head -n 3); f=$(find --version 2>/dev/null </dev/null | head -n 1)\n" +
		"printf 'xv-incr 1\\0%s\\0%s\\0%s\\0' \"$t\" \"$f\" \"$(date -u +%s)\"\n" +
		// A tar that cannot read a NUL-separated list (BusyBox) or no GNU
		// find: the agent falls back to SFTP; nothing more is run.
		"case $t in *'GNU tar'*|bsdtar*) ;; *) exit 0;; esac\n" +
		"case $f in *'GNU findutils'*) ;; *) printf 'N\\0'; exit 0;; esac\n"
	scriptEnd = "; printf 'E\\0%s\\0' \"$?\"\n"
	scriptTar = "case $t in\n" +
		"*'GNU tar'*) exec tar -c -f - --format=gnu --numeric-owner --hard-dereference --ignore-failed-read " +
		"--no-unquote --null --no-recursion -C / -T -;;\n" +
		"*) exec tar -c -f - --numeric-owner --null -n -C / -T -;;\n" +
		"esac\n"
)

// listingScript is the one command of an exec listing session: banner and
// versions, the server clock, a find of the parents of the roots (dirs,
// following symlinks, without content), one find per root, then a tar that
// archives the NUL-separated names the agent writes to stdin.
func listingScript(roots, dirs, exclude []string) string {
	var b strings.Builder
	b.WriteString(scriptHead)
	if len(dirs) > 0 {
		b.WriteString("find -H")
		for _, d := range dirs {
			b.WriteString(" " + Quote(d))
		}
		b.WriteString(" -maxdepth 0 -printf '" + findFormat + "'" + scriptEnd)
	}
	for _, r := range roots {
		b.WriteString("find -P " + Quote(r) + prunes(r, exclude) + " -printf '" + findFormat + "'" + scriptEnd)
	}
	b.WriteString(scriptTar)
	return b.String()
}

// prunes translates the exclude patterns find can apply with exactly the
// agent's meaning into -name prunes, only to save listing bytes (the agent
// applies every pattern to the listing again):
//
//   - only patterns that match a base name (no "/"), since -name sees base
//     names only;
//   - never "[" or "\": bracket and escape rules differ between fnmatch and
//     path.Match;
//   - never "?": in the C locale fnmatch's "?" matches one byte, path.Match's
//     one UTF-8 character, so "a???" would prune "a日" which the agent keeps;
//   - none under the root "/", whose own base name "/" a "*" would match.
func prunes(root string, exclude []string) string {
	if root == "/" {
		return ""
	}
	var names []string
	for _, p := range exclude {
		if p == "" || strings.ContainsAny(p, `/[\?`) {
			continue
		}
		names = append(names, "-name "+Quote(p))
	}
	if len(names) == 0 {
		return ""
	}
	return ` \( ` + strings.Join(names, " -o ") + ` \) -prune -o`
}
