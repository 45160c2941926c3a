package postgres

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xvault/xvault/agentd/internal/connector"
)

// toolNames are the client programs a backup needs, all from one
// installation so that their versions match.
var toolNames = []string{"pg_dump", "pg_dumpall", "psql"}

// toolset is one installation of the client programs.
type toolset struct {
	dir     string
	version string // "15.20"
	major   int    // majorNumber: 1500 for 15.x, 906 for 9.6.x
}

func (t toolset) path(name string) string { return filepath.Join(t.dir, name) }

// searchDirs lists where the client programs are looked for, best first:
// the versioned installation directories, then the agent's PATH (absolute
// entries only).
func (c *Connector) searchDirs() []string {
	if c.toolDirs != nil {
		return c.toolDirs
	}
	var dirs []string
	for _, pattern := range []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin"} {
		m, _ := filepath.Glob(pattern)
		dirs = append(dirs, m...)
	}
	return append(dirs, filepath.SplitList(os.Getenv("PATH"))...)
}

// findToolsets returns every usable installation, newest first.
func (s *session) findToolsets(ctx context.Context) error {
	dirs := s.c.searchDirs()
	var sets []toolset
	seen := map[string]bool{}
	for _, d := range dirs {
		if !filepath.IsAbs(d) || seen[d] || !hasTools(d) {
			continue
		}
		seen[d] = true
		v, err := s.toolVersion(ctx, filepath.Join(d, "pg_dump"))
		if err != nil {
			s.c.log.Warn("postgres: unusable client programs", "dir", d, "err", err)
			continue
		}
		sets = append(sets, toolset{dir: d, version: v, major: majorNumber(v)})
	}
	if len(sets) == 0 {
		return fmt.Errorf("the PostgreSQL client programs (%s) were not found together in %s "+
			"(hint: install postgresql-client on the agent): %w",
			strings.Join(toolNames, ", "), strings.Join(dirs, ":"), connector.ErrPermanent)
	}
	slices.SortStableFunc(sets, func(a, b toolset) int { return cmp.Compare(b.major, a.major) })
	s.sets = sets
	s.tools = sets[0] // the newest psql reads any older server's catalogs
	return nil
}

func hasTools(dir string) bool {
	for _, name := range toolNames {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// toolVersionRE finds the version in "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)".
var toolVersionRE = regexp.MustCompile(`\(PostgreSQL\) ([0-9]+(?:\.[0-9]+)*)`)

func (s *session) toolVersion(ctx context.Context, path string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "--version")
	cmd.Env = s.environ()
	cmd.Dir = s.home
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", path, err)
	}
	m := toolVersionRE.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("%s --version: unrecognised answer %q", path, firstLines(string(out), 1))
	}
	return string(m[1]), nil
}

// majorNumber maps a version to a comparable major number: "15.20" → 1500,
// "9.6.24" → 906 (before 10, the major version had two parts).
func majorNumber(v string) int {
	parts := strings.SplitN(v, ".", 3)
	first, _ := strconv.Atoi(parts[0])
	if first >= 10 || len(parts) < 2 {
		return first * 100
	}
	second, _ := strconv.Atoi(parts[1])
	return first*100 + second
}

// serverMajor maps server_version_num (150020, 90624) to a major number.
func serverMajor(num int) int {
	if num >= 100000 {
		return num / 10000 * 100
	}
	return num / 100
}

// majorName renders a major number as PostgreSQL names it: 1500 → "15", 906 → "9.6".
func majorName(m int) string {
	if m >= 1000 {
		return strconv.Itoa(m / 100)
	}
	return fmt.Sprintf("%d.%d", m/100, m%100)
}

// chooseToolset picks the installation for a server of major version
// server: the same major, else the closest newer one. sets is newest first.
func chooseToolset(sets []toolset, server int, serverVersion string) (toolset, error) {
	var best *toolset
	for i := range sets {
		t := &sets[i]
		if t.major == server {
			return *t, nil
		}
		if t.major > server && (best == nil || t.major < best.major) {
			best = t
		}
	}
	if best != nil {
		return *best, nil
	}
	newest := sets[0]
	return toolset{}, fmt.Errorf("pg_dump %s (%s) is older than the server (PostgreSQL %s) and cannot dump it "+
		"(hint: install postgresql-client-%s on the agent): %w",
		newest.version, newest.dir, serverVersion, majorName(server), connector.ErrPermanent)
}

// command builds a tool's process: fixed arguments, minimal environment,
// the private HOME as working directory.
func (s *session) command(ctx context.Context, tool string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, s.tools.path(tool), args...)
	cmd.Env = s.environ()
	cmd.Dir = s.home
	cmd.WaitDelay = 10 * time.Second
	return cmd
}
