package download

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

var (
	// ErrUnknown: no restore has this token (404).
	ErrUnknown = errors.New("unknown download token")
	// ErrExpired: the restore's link expired (410).
	ErrExpired = errors.New("download link expired")
)

// tokenPattern is the shape of a download token: "xvd_" + 43 base64url characters.
var tokenPattern = regexp.MustCompile(`^xvd_[A-Za-z0-9_-]{43}$`)

// TombstoneFor is how long meta.json outlives an expired restore's file, so
// that its link answers 410 Gone rather than 404.
const TombstoneFor = 7 * 24 * time.Hour

// TokenHash is the hex sha256 of a download token, as the hub sends it.
func TokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Lookup finds the published restore a token opens and returns its meta and
// file path: ErrUnknown when none, ErrExpired when its time is over.
func (a *Area) Lookup(token string, now time.Time) (*Meta, string, error) {
	if !tokenPattern.MatchString(token) {
		return nil, "", ErrUnknown
	}
	want, _ := hex.DecodeString(TokenHash(token))
	ids, err := a.entries()
	if err != nil {
		return nil, "", fmt.Errorf("list restores: %w", err)
	}
	for _, id := range ids {
		dir := filepath.Join(a.root, id)
		m, err := readMeta(dir)
		if err != nil {
			continue // not published (yet), or unreadable
		}
		got, err := hex.DecodeString(m.TokenSHA256)
		if err != nil || subtle.ConstantTimeCompare(got, want) != 1 || m.RestoreID != id {
			continue
		}
		if !now.Before(m.ExpiresAt) {
			return m, "", ErrExpired
		}
		path := filepath.Join(dir, m.FileName)
		if _, err := os.Lstat(path); err != nil {
			return m, "", ErrUnknown
		}
		return m, path, nil
	}
	return nil, "", ErrUnknown
}

// Cleanup deletes the files of expired restores (keeping meta.json as a
// tombstone for TombstoneFor), tombstones past that, and directories an
// interrupted restore left (no meta.json) unless they are being written.
// It returns what it removed.
func (a *Area) Cleanup(now time.Time) ([]string, error) {
	ids, err := a.entries()
	if err != nil {
		return nil, fmt.Errorf("cleanup restores: %w", err)
	}
	var removed []string
	var errs []error
	for _, id := range ids {
		a.mu.Lock()
		busy := a.active[id]
		a.mu.Unlock()
		if busy {
			continue
		}
		dir := filepath.Join(a.root, id)
		m, err := readMeta(dir)
		var target string
		switch {
		case errors.Is(err, fs.ErrNotExist):
			target = dir // unfinished
		case err != nil:
			continue
		case !now.Before(m.ExpiresAt.Add(TombstoneFor)):
			target = dir
		case !now.Before(m.ExpiresAt):
			target = filepath.Join(dir, m.FileName)
			if _, err := os.Lstat(target); err != nil {
				continue
			}
		default:
			continue
		}
		if err := os.RemoveAll(target); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, target)
	}
	return removed, errors.Join(errs...)
}

// CleanupLoop runs Cleanup every interval until ctx ends.
func (a *Area) CleanupLoop(ctx context.Context, every time.Duration, now func() time.Time, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		removed, err := a.Cleanup(now())
		for _, p := range removed {
			log.Info("removed expired or unfinished restore", "path", p)
		}
		if err != nil {
			log.Warn("restore cleanup", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
