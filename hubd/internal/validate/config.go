package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
)

// Checks shared by the per-type config decoders (ssh.go, local.go, ftp.go,
// database.go, wordpress.go).

const (
	// maxSocketPath is the longest unix socket path (sun_path holds 108
	// bytes with the terminating NUL).
	maxSocketPath = 107
	// maxCredentialIDLen bounds a credential id named inside a config.
	maxCredentialIDLen = 100
	hostKeyProblem     = `must be "SHA256:" followed by 43 base64 characters (as ssh-keygen -lf prints)`
)

// decodeConfig decodes one JSON object into dst. Unknown keys, and keys
// that differ from known only by case, are reported with their path, at
// the top level and inside the nested objects named in nested (key → its
// known keys). ok is false when dst could not be decoded at all (not an
// object, bad JSON); a value of the wrong type is reported and the rest is
// still decoded, so the caller can check it and report every problem.
func decodeConfig(raw []byte, dst any, known []string, nested map[string][]string) (f Fields, ok bool) {
	f = Fields{}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		f.Add("", "must be a JSON object")
		return f, false
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(dst); err != nil {
		field, problem := JSONProblem(err)
		f.Add(field, problem)
		var typ *json.UnmarshalTypeError
		if !errors.As(err, &typ) {
			return f, false
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		f.Add("", "must hold exactly one JSON object")
		return f, false
	}
	exactKeys(f, trimmed, known)
	var obj map[string]json.RawMessage
	if json.Unmarshal(trimmed, &obj) == nil {
		for key, keys := range nested {
			if sub, ok := obj[key]; ok {
				exactKeysAt(f, key+".", sub, keys)
			}
		}
	}
	return f, true
}

// checkPort checks an optional port: 0 means def, which it returns.
func checkPort(f Fields, field string, port, def int) int {
	switch {
	case port == 0:
		return def
	case port < 1 || port > 65535:
		f.Add(field, "must be 1-65535")
	}
	return port
}

// oneOf checks an optional choice: "" means def, which it returns.
func oneOf(f Fields, field, v, def string, allowed ...string) string {
	if v == "" {
		return def
	}
	if !slices.Contains(allowed, v) {
		f.Add(field, fmt.Sprintf("must be one of %s (empty means %s)", strings.Join(allowed, ", "), def))
	}
	return v
}

// hasControl reports whether s holds a control character (C0, DEL or C1):
// NUL, newline, carriage return, escape and the like.
func hasControl(s string) bool { return strings.ContainsFunc(s, unicode.IsControl) }

// checkHostKey checks an optional pinned host key fingerprint.
func checkHostKey(f Fields, field, key string) {
	if key != "" && !HostKeyFingerprint(key) {
		f.Add(field, hostKeyProblem)
	}
}

// checkCredentialID checks the shape of a credential id named in a config;
// whether it names a credential of the tenant is for the caller (see
// Source.CredentialRefs).
func checkCredentialID(f Fields, field, id string, required bool) {
	switch {
	case id == "" && required:
		f.Add(field, "is required")
	case len(id) > maxCredentialIDLen || hasControl(id) || strings.ContainsRune(id, ' '):
		f.Add(field, "is not a credential id (see xv credential list)")
	}
}

// checkSocketPath checks an absolute unix socket path.
func checkSocketPath(f Fields, field, p string) {
	if problem := socketPathProblem(p); problem != "" {
		f.Add(field, problem)
	}
}

func socketPathProblem(p string) string {
	if problem := absPathProblem(p); problem != "" {
		return problem
	}
	if len(p) > maxSocketPath {
		return fmt.Sprintf("must be at most %d bytes (the limit of a unix socket path)", maxSocketPath)
	}
	if hasControl(p) {
		return "must not contain control characters"
	}
	return ""
}

// nilIfEmpty stores an empty list as absent.
func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
