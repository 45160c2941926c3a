package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"

	"github.com/xvault/xvault/sdk"
)

// state is what an agent keeps between restarts, in its state dir (0700):
// its own age identity and the token it got at enrollment.
type state struct {
	AgentID  string `json:"agent_id"`
	HubURL   string `json:"hub_url"`
	Token    string `json:"token"`
	identity *age.X25519Identity
}

const (
	identityFile = "identity.txt"
	stateFile    = "agent.json"
)

// loadOrEnroll returns the saved state, or enrolls with the hub on first start.
func loadOrEnroll(ctx context.Context, cfg Config) (*state, error) {
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	id, err := loadIdentity(filepath.Join(cfg.StateDir, identityFile))
	if err != nil {
		return nil, err
	}
	st, err := readState(filepath.Join(cfg.StateDir, stateFile))
	if err == nil {
		st.identity = id
		if st.HubURL != cfg.HubURL {
			cfg.Logger.Warn("hub URL differs from the one this agent enrolled with; using the configured one",
				"enrolled_with", st.HubURL, "configured", cfg.HubURL)
		}
		return st, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if cfg.EnrollToken == "" {
		return nil, errors.New("this agent is not enrolled yet: pass --enroll-token (hint: xv agent enroll-token create)")
	}
	hub := sdk.New(cfg.HubURL, "", sdk.WithHTTPClient(cfg.HTTPClient))
	resp, err := hub.Enroll(ctx, cfg.EnrollToken, sdk.EnrollRequest{
		Name:            cfg.Name,
		Version:         Version,
		PublicKey:       id.Recipient().String(),
		StorageBasePath: cfg.StorageDir,
		Capabilities:    capabilities(),
	})
	if err != nil {
		return nil, fmt.Errorf("enroll with hub %s: %w", cfg.HubURL, err)
	}
	st = &state{AgentID: resp.AgentID, HubURL: cfg.HubURL, Token: resp.Token, identity: id}
	if err := writeState(filepath.Join(cfg.StateDir, stateFile), st); err != nil {
		return nil, err
	}
	cfg.Logger.Info("enrolled", "agent_id", st.AgentID)
	return st, nil
}

// loadIdentity reads the agent's age identity, generating it on first use.
func loadIdentity(path string) (*age.X25519Identity, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return nil, fmt.Errorf("generate agent identity: %w", err)
		}
		if err := writeFileAtomic(path, []byte(id.String()+"\n")); err != nil {
			return nil, fmt.Errorf("save agent identity: %w", err)
		}
		return id, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read agent identity: %w", err)
	}
	id, err := age.ParseX25519Identity(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("agent identity %s is malformed (delete the state dir to enroll again)", path)
	}
	return id, nil
}

func readState(path string) (*state, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read agent state: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil || st.AgentID == "" || st.Token == "" {
		return nil, fmt.Errorf("agent state %s is malformed (delete the state dir to enroll again)", path)
	}
	return &st, nil
}

func writeState(path string, st *state) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, b); err != nil {
		return fmt.Errorf("save agent state: %w", err)
	}
	return nil
}

// writeFileAtomic writes a 0600 file through a temp file, fsync and rename.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Enrolled reports whether stateDir holds an enrolled agent's state.
func Enrolled(stateDir string) bool {
	_, err := readState(filepath.Join(stateDir, stateFile))
	return err == nil
}
