package ftp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/xvault/xvault/agentd/internal/connector/sshconn"
)

// parseMLSDLine parses one line of an MLSD reply (RFC 3659 §7):
// "fact=value;fact=value; name". Facts are read one by one up to the ";"
// that ends each value, so a value may hold spaces (a symlink target); the
// name is everything after the single space that follows the last fact.
func parseMLSDLine(line string) (listEntry, error) {
	facts, name, err := splitFacts(line)
	if err != nil {
		return listEntry{}, err
	}
	e := listEntry{name: name, precise: true}
	if err := mlsdType(&e, facts["type"]); err != nil {
		return listEntry{}, err
	}
	if v, ok := facts["size"]; ok && e.kind == kindFile {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return listEntry{}, fmt.Errorf("bad size %q", v)
		}
		e.size = n
	}
	if v, ok := facts["modify"]; ok {
		t, err := mlsdTime(v)
		if err != nil {
			return listEntry{}, err
		}
		e.mtime = t
	} else {
		e.precise = false
	}
	e.mode = 0o644
	if e.kind == kindDir {
		e.mode = 0o755
	}
	if v, ok := facts["unix.mode"]; ok {
		m, err := strconv.ParseUint(v, 8, 32)
		if err != nil || m > 0o7777 {
			return listEntry{}, fmt.Errorf("bad UNIX.mode %q", v)
		}
		e.mode = sshconn.PermMode(uint32(m))
	}
	e.uid, e.gid = atoiOr0(facts["unix.uid"]), atoiOr0(facts["unix.gid"])
	if e.uid == 0 {
		e.uid = atoiOr0(facts["unix.owner"])
	}
	if e.gid == 0 {
		e.gid = atoiOr0(facts["unix.group"])
	}
	return e, nil
}

// splitFacts splits an MLSD line into its facts (keys lower-cased) and the
// name, which may be empty.
func splitFacts(line string) (map[string]string, string, error) {
	facts := map[string]string{}
	i := 0
	for {
		eq := strings.IndexByte(line[i:], '=')
		semi := strings.IndexByte(line[i:], ';')
		if eq <= 0 || semi < eq {
			return nil, "", errors.New("malformed facts")
		}
		facts[strings.ToLower(line[i:i+eq])] = line[i+eq+1 : i+semi]
		i += semi + 1
		if i < len(line) && line[i] == ' ' {
			return facts, line[i+1:], nil
		}
		if i >= len(line) {
			return nil, "", errors.New("no name")
		}
	}
}

// mlsdType sets the kind from the type fact: file, dir, cdir and pdir
// (the listed directory and its parent, named "." and ".." here so that
// parseListing drops them), and the symlinks and special files that
// ProFTPD and Pure-FTPd report as OS.unix=slink:TARGET, OS.unix=chr-…
func mlsdType(e *listEntry, t string) error {
	lower := strings.ToLower(t)
	switch {
	case lower == "file":
		e.kind = kindFile
	case lower == "dir":
		e.kind = kindDir
	case lower == "cdir":
		e.name = "."
	case lower == "pdir":
		e.name = ".."
	case strings.HasPrefix(lower, "os.unix=slink:"), strings.HasPrefix(lower, "os.unix=symlink:"):
		_, target, _ := strings.Cut(t, ":")
		if target == "" {
			return errors.New("symlink with an empty target")
		}
		e.kind, e.target = kindSymlink, target
	case lower == "os.unix=slink", lower == "os.unix=symlink":
		return errors.New("symlink without a target")
	case t == "":
		return errors.New("no type fact")
	default:
		e.kind, e.other = kindOther, "type "+t
	}
	return nil
}

// mlsdTime parses "YYYYMMDDHHMMSS[.sss]" (always UTC).
func mlsdTime(v string) (time.Time, error) {
	whole, frac, _ := strings.Cut(v, ".")
	t, err := time.ParseInLocation("20060102150405", whole, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad modify time %q", v)
	}
	if frac != "" {
		if !isDigits(frac) || len(frac) > 9 {
			return time.Time{}, fmt.Errorf("bad modify time %q", v)
		}
		ns, _ := strconv.Atoi((frac + "000000000")[:9])
		t = t.Add(time.Duration(ns))
	}
	return t, nil
}

// parseDOSLine parses the MS-DOS form of LIST that IIS sends:
// "01-02-06  03:04PM       <DIR>          name" or
// "2006-01-02  15:04              1234 name". It carries no mode: files get
// 0644, directories 0755.
func parseDOSLine(line string) (listEntry, error) {
	fs := fields(line, 3)
	if len(fs) < 3 {
		return listEntry{}, errors.New("neither a Unix nor a DOS listing line")
	}
	text := func(i int) string { return line[fs[i].start:fs[i].end] }
	mtime, err := dosTime(text(0), text(1))
	if err != nil {
		return listEntry{}, err
	}
	name := strings.TrimLeft(line[fs[2].end:], " ")
	if name == "" || fs[2].end == len(line) {
		return listEntry{}, errors.New("no name")
	}
	e := listEntry{name: name, mtime: mtime}
	if text(2) == "<DIR>" {
		e.kind, e.mode = kindDir, 0o755
		return e, nil
	}
	size, err := strconv.ParseInt(text(2), 10, 64)
	if err != nil || size < 0 {
		return listEntry{}, fmt.Errorf("bad size %q", text(2))
	}
	e.kind, e.mode, e.size = kindFile, 0o644, size
	return e, nil
}

var dosLayouts = []string{
	"01-02-06 03:04PM", "01-02-2006 03:04PM", "01-02-06 15:04", "01-02-2006 15:04", "2006-01-02 15:04",
}

func dosTime(date, clock string) (time.Time, error) {
	for _, layout := range dosLayouts {
		if t, err := time.ParseInLocation(layout, date+" "+clock, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("neither a Unix nor a DOS listing line")
}
