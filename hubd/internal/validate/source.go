package validate

import (
	"bytes"
	"encoding/json"

	"github.com/xvault/xvault/sdk"
)

// sourceTypes lists every source type the hub accepts.
var sourceTypes = map[sdk.SourceType]bool{
	sdk.SourceSSH: true, sdk.SourceSFTP: true, sdk.SourceFTP: true, sdk.SourceMySQL: true,
	sdk.SourcePostgres: true, sdk.SourceWordPress: true, sdk.SourceLocal: true,
}

// MaxConfigBytes bounds a stored source config.
const MaxConfigBytes = 64 << 10

// Source is a source as it would be stored, before checking.
type Source struct {
	Type         sdk.SourceType
	Name         string
	Status       sdk.SourceStatus
	CredentialID string
	Config       json.RawMessage
}

// SourceResult is a checked source: its config normalized (ssh/sftp) or
// compacted as given (other types).
type SourceResult struct {
	Config json.RawMessage
	SSH    *sdk.SSHConfig // ssh and sftp only
}

// CheckSource checks everything about a source that needs no database:
// type, name, status, config, and whether a credential is required. The
// caller checks that CredentialID names a credential of the tenant.
func CheckSource(s Source) (*SourceResult, Fields) {
	f := Fields{}
	if !sourceTypes[s.Type] {
		f.Add("type", "must be one of ssh, sftp, ftp, mysql, postgres, wordpress, local")
	}
	Name(f, "name", s.Name)
	if s.Status != sdk.SourceActive && s.Status != sdk.SourceDisabled {
		f.Add("status", "must be active or disabled")
	}
	res := &SourceResult{}
	switch s.Type {
	case sdk.SourceSSH, sdk.SourceSFTP:
		if s.CredentialID == "" {
			f.Add("credential_id", "is required for "+string(s.Type)+" sources")
		}
		cfg, cf := SSHConfig(s.Config)
		f.Merge("config.", cf)
		if cfg != nil {
			res.SSH = cfg
			res.Config, _ = json.Marshal(cfg)
		}
	default:
		res.Config = checkObject(f, s.Config)
	}
	if len(f) > 0 {
		return nil, fixRoot(f)
	}
	return res, nil
}

// checkObject accepts any JSON object and returns it compacted.
func checkObject(f Fields, raw json.RawMessage) json.RawMessage {
	var obj map[string]json.RawMessage
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &obj) != nil {
		f.Add("config", "must be a JSON object")
		return nil
	}
	if len(trimmed) > MaxConfigBytes {
		f.Add("config", "must be at most 64 KiB")
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, trimmed); err != nil {
		f.Add("config", "must be a JSON object")
		return nil
	}
	return buf.Bytes()
}

// fixRoot renames "config." (a problem with the config as a whole) to "config".
func fixRoot(f Fields) Fields {
	if v, ok := f["config."]; ok {
		delete(f, "config.")
		f.Add("config", v)
	}
	return f
}
