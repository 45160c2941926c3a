package wordpress

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/sftp"
	"github.com/xvault/xvault/agentd/internal/egress"
	"github.com/xvault/xvault/sdk/archive"
)

// defaultExcludes are never archived: caches, WordPress's upgrade scratch
// space, the archives of backup plugins (often larger than the site, and
// holding another copy of its database), and log files. Paths are
// relative to the site's path.
var defaultExcludes = []string{
	"wp-content/cache",
	"wp-content/upgrade",
	"wp-content/upgrade-temp-backup",
	"wp-content/updraft",                     // UpdraftPlus
	"wp-content/ai1wm-backups",               // All-in-One WP Migration
	"wp-content/backups-dup-pro",             // Duplicator Pro
	"wp-content/backups-dup-lite",            // Duplicator
	"wp-content/wpvividbackups",              // WPvivid
	"wp-content/uploads/backwpup-*",          // BackWPup
	"wp-content/uploads/backupbuddy_backups", // BackupBuddy
	"*.log",
}

// excludes turns the default and the source's patterns into patterns for
// sshconn.Excluded: absolute ones and base-name ones (no "/") as they are,
// relative ones with a "/" anchored at root.
func excludes(root string, user []string) ([]string, error) {
	var out []string
	for _, p := range append(append([]string{}, defaultExcludes...), user...) {
		if p == "" {
			continue
		}
		if _, err := path.Match(p, ""); err != nil || strings.IndexByte(p, 0) >= 0 {
			return nil, fmt.Errorf("exclude %q is not a valid pattern", p)
		}
		if !strings.HasPrefix(p, "/") && strings.Contains(p, "/") {
			p = path.Join(escapeMeta(root), path.Clean(p))
		}
		out = append(out, p)
	}
	return out, nil
}

// escapeMeta quotes path.Match's special characters in a literal path.
func escapeMeta(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// pullFiles archives the site's files with the sftp connector, over its own
// SSH connection pinned to the host key of the first one. A wp-config.php
// above the site's path is archived too.
func (c *Connector) pullFiles(ctx context.Context, s *site, sink connector.Sink) error {
	paths := []string{c.root}
	if path.Dir(s.configPath) != c.root {
		paths = append(paths, s.configPath)
	}
	fc, err := sftp.New(sftp.Config{
		Host: c.cfg.Host, Port: c.cfg.Port, Username: c.cfg.Username, HostKey: s.hostKey,
		Paths: paths, Exclude: c.exclude, Transfer: sftp.TransferAuto,
	}, c.cred, sftp.Options{OnHostKey: c.env.OnHostKey, Logger: c.log, DialContext: egress.Dialer{Policy: c.env.Egress}.DialContext})
	if err != nil {
		return fmt.Errorf("wordpress files: %w", err)
	}
	return fc.Pull(ctx, filesSink{sink})
}

// filesSink passes the file pull's entries through; the snapshot was
// described already, so a second Describe is refused.
type filesSink struct{ connector.Sink }

func (filesSink) Describe(archive.Descriptor) error {
	return errors.New("wordpress: the file pull may not describe the snapshot again")
}

// TransferMode passes the file transfer chosen ("exec", "sftp") on.
func (s filesSink) TransferMode(mode string) {
	if r, ok := s.Sink.(connector.TransferReporter); ok {
		r.TransferMode(mode)
	}
}
