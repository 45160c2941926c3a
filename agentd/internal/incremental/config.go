package incremental

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
)

// ConfigHash is the config_hash of a source's configuration as far as an
// incremental chain depends on it: the sha256 (hex) of the canonical JSON
// {"exclude": [...], "paths": [...]}, excludes sorted and deduplicated,
// roots as given (the connector normalises them). A chain continues only
// while it stays the same.
func ConfigHash(roots, exclude []string) string {
	ex := slices.Clone(exclude)
	slices.Sort(ex)
	ex = slices.Compact(ex)
	doc := struct {
		Exclude []string `json:"exclude"`
		Paths   []string `json:"paths"`
	}{Exclude: nonNil(ex), Paths: nonNil(roots)}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // canonical: "<" stays "<"
	if err := enc.Encode(&doc); err != nil {
		panic("incremental: encode config hash: " + err.Error()) // []string always encodes
	}
	sum := sha256.Sum256(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	return hex.EncodeToString(sum[:])
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
