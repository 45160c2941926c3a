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
	StorageID    string // a storage target id ("" = the tenant's default); the API checks it exists
}

// SourceResult is a checked source: its config normalized (defaults
// filled in, keys in their one spelling), as it is stored.
type SourceResult struct {
	Config json.RawMessage
	SSH    *sdk.SSHConfig // ssh and sftp only
}

// CheckSource checks everything about a source that needs no database:
// type, name, status, config, and whether a credential is required. The
// caller checks that the credentials it names (Source.CredentialRefs)
// belong to the tenant.
func CheckSource(s Source) (*SourceResult, Fields) {
	f := Fields{}
	if !sourceTypes[s.Type] {
		f.Add("type", "must be one of ssh, sftp, ftp, mysql, postgres, wordpress, local")
	}
	Name(f, "name", s.Name)
	if s.Status != sdk.SourceActive && s.Status != sdk.SourceDisabled {
		f.Add("status", "must be active or disabled")
	}
	if len(s.Config) > MaxConfigBytes && sourceTypes[s.Type] {
		f.Add("config", "must be at most 64 KiB")
		return nil, f
	}
	res := &SourceResult{}
	switch s.Type {
	case sdk.SourceSSH, sdk.SourceSFTP:
		needCredential(f, s)
		cfg, cf := SSHConfig(s.Config)
		res.SSH = cfg
		res.Config = normalized(f, cfg, cf)
	case sdk.SourceLocal:
		if s.CredentialID != "" {
			f.Add("credential_id", "is not used by local sources (they read the agent's own disk)")
		}
		cfg, cf := LocalConfig(s.Config)
		res.Config = normalized(f, cfg, cf)
	case sdk.SourceFTP:
		needCredential(f, s)
		cfg, cf := FTPConfig(s.Config)
		res.Config = normalized(f, cfg, cf)
	case sdk.SourceMySQL:
		needCredential(f, s)
		cfg, cf := MySQLConfig(s.Config)
		res.Config = normalized(f, cfg, cf)
	case sdk.SourcePostgres:
		needCredential(f, s)
		cfg, cf := PostgresConfig(s.Config)
		res.Config = normalized(f, cfg, cf)
	case sdk.SourceWordPress:
		needCredential(f, s)
		cfg, cf := WordPressConfig(s.Config)
		res.Config = normalized(f, cfg, cf)
	default:
		res.Config = checkObject(f, s.Config)
	}
	if len(f) > 0 {
		return nil, fixRoot(f)
	}
	return res, nil
}

// needCredential reports a missing credential: every remote type logs in.
func needCredential(f Fields, s Source) {
	if s.CredentialID == "" {
		f.Add("credential_id", "is required for "+string(s.Type)+" sources")
	}
}

// normalized merges a decoder's problems under "config." and returns the
// config it accepted, encoded (nil when it did not accept one).
func normalized[T any](f Fields, cfg *T, problems Fields) json.RawMessage {
	f.Merge("config.", problems)
	if cfg == nil {
		return nil
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		f.Add("config", "cannot be encoded: "+err.Error())
		return nil
	}
	return b
}

// CredentialRef is a credential that a source names: its own (field
// "credential_id") or one inside its config ("config.ssh.credential_id",
// "config.db_credential_id").
type CredentialRef struct {
	Field string
	ID    string
	Kind  sdk.CredentialKind // the kind it must be; "" = any
}

// CredentialRefs lists the credentials s names, for the caller to check
// that each is a credential of the tenant of the right kind. It reads the
// config leniently, so it works on a config that CheckSource refuses and
// every problem can be reported at once.
func (s Source) CredentialRefs() []CredentialRef {
	var refs []CredentialRef
	add := func(field, id string, kind sdk.CredentialKind) {
		if id != "" {
			refs = append(refs, CredentialRef{Field: field, ID: id, Kind: kind})
		}
	}
	var cfg struct {
		SSH *struct {
			CredentialID string `json:"credential_id"`
		} `json:"ssh"`
		DBCredentialID string `json:"db_credential_id"`
	}
	_ = json.Unmarshal(s.Config, &cfg) // best effort: CheckSource reports what is wrong
	switch s.Type {
	case sdk.SourceFTP, sdk.SourceMySQL, sdk.SourcePostgres:
		add("credential_id", s.CredentialID, sdk.CredentialPassword)
	default:
		add("credential_id", s.CredentialID, "")
	}
	switch s.Type {
	case sdk.SourceMySQL, sdk.SourcePostgres:
		if cfg.SSH != nil {
			add("config.ssh.credential_id", cfg.SSH.CredentialID, "")
		}
	case sdk.SourceWordPress:
		add("config.db_credential_id", cfg.DBCredentialID, sdk.CredentialPassword)
	}
	return refs
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
