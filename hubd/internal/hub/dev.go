package hub

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/xvault/xvault/hubd/internal/auth"
	"github.com/xvault/xvault/hubd/internal/keys"
	"github.com/xvault/xvault/hubd/internal/store"
)

// Files of a dev data directory.
const (
	devDBFile    = "hub.db"
	devKEKFile   = "kek"
	devTokenFile = "admin-token"
)

// prepareDev makes the data directory and its KEK, and points the config
// at its SQLite database.
func prepareDev(cfg *Config) error {
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("dev mode: data dir %s: %w", cfg.DataDir, err)
	}
	cfg.DataDir = dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("dev mode: create data dir: %w", err)
	}
	kekPath := filepath.Join(dir, devKEKFile)
	kek, err := keys.LoadKEKFile(kekPath)
	if errors.Is(err, fs.ErrNotExist) {
		kek, err = keys.GenerateKEKFile(kekPath)
		if err == nil {
			cfg.Log.Warn("dev mode: generated a KEK; dev keys are for trying xVault out, not for production data",
				"path", kekPath)
		}
	}
	if err != nil {
		return fmt.Errorf("dev mode: %w", err)
	}
	if cfg.Keys, err = keys.NewRing(kek); err != nil {
		return fmt.Errorf("dev mode: %w", err)
	}
	cfg.DatabaseURL = "sqlite://" + filepath.Join(dir, devDBFile)
	cfg.Migrate = true
	return nil
}

// devAdminToken returns the platform admin token kept in the data dir,
// making (and saving) one on first start or when the saved one no longer
// resolves (a wiped database).
func devAdminToken(ctx context.Context, cfg *Config, db *store.DB) (string, error) {
	path := filepath.Join(cfg.DataDir, devTokenFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		token := strings.TrimSpace(string(b))
		r := auth.Resolver{DB: db}
		if _, rerr := r.Resolve(ctx, "Bearer "+token); rerr == nil {
			return token, nil
		}
		cfg.Log.Warn("dev mode: the saved admin token is not valid in this database; making a new one", "path", path)
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("dev mode: read admin token: %w", err)
	}
	token, _, err := auth.CreatePlatformToken(ctx, db, "dev admin", time.Now())
	if err != nil {
		return "", fmt.Errorf("dev mode: %w", err)
	}
	if err := writeSecretFile(path, token+"\n"); err != nil {
		return "", fmt.Errorf("dev mode: save admin token: %w", err)
	}
	return token, nil
}

// writeSecretFile replaces path with data, readable by the owner only.
func writeSecretFile(path, data string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o600); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil { // whatever the umask did
		return err
	}
	return os.Rename(tmp, path)
}

// printDevBanner tells the user how to start using xv.
func printDevBanner(cfg *Config, hubURL, token string) {
	fmt.Fprintf(cfg.Stdout, "xVault hub (dev mode) listening on %s, data in %s\n", hubURL, cfg.DataDir)
	fmt.Fprintf(cfg.Stdout, "Paste these to use xv:\n\n")
	fmt.Fprintf(cfg.Stdout, "export XV_HUB_URL=%s\n", hubURL)
	fmt.Fprintf(cfg.Stdout, "export XV_TOKEN=%s\n\n", token)
}
