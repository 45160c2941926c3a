// Package validate checks operator input that the hub stores: source
// configs (strict, per source type) and credentials. Each check reports
// every problem at once, keyed by the JSON path of the offending field
// ("name", "config.port", "config.paths[1]"), so the caller can answer one
// invalid_argument error listing them all.
package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Fields maps a field path onto what is wrong with it.
type Fields map[string]string

// Add records a problem for a field, keeping the first one reported.
func (f Fields) Add(field, problem string) {
	if _, ok := f[field]; !ok {
		f[field] = problem
	}
}

// Merge adds every problem of other under prefix (e.g. "config.").
func (f Fields) Merge(prefix string, other Fields) {
	for k, v := range other {
		f.Add(prefix+k, v)
	}
}

// MaxNameLen is the longest name of a source or credential, in characters.
const MaxNameLen = 100

// Name checks a required, short, printable name.
func Name(f Fields, field, name string) {
	switch {
	case strings.TrimSpace(name) == "":
		f.Add(field, "is required")
	case utf8.RuneCountInString(name) > MaxNameLen:
		f.Add(field, fmt.Sprintf("must be at most %d characters", MaxNameLen))
	case strings.ContainsFunc(name, isControl):
		f.Add(field, "must not contain control characters")
	}
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// decodeStrict decodes one JSON object into dst rejecting unknown fields
// and trailing data; a problem is reported as a field error.
func decodeStrict(raw []byte, dst any) Fields {
	f := Fields{}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		f.Add("", "must be a JSON object")
		return f
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		field, problem := JSONProblem(err)
		f.Add(field, problem)
		return f
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		f.Add("", "must hold exactly one JSON object")
	}
	return f
}

// JSONProblem turns an encoding/json decoding error into a field path (may
// be empty for the whole value) and a human description of the problem.
func JSONProblem(err error) (field, problem string) {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return "", fmt.Sprintf("is not valid JSON (at byte %d): %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typ):
		return typ.Field, fmt.Sprintf("must be %s, not %s", jsonKind(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "", "is truncated JSON"
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return strings.Trim(name, `"`), "is not a known field"
	}
	return "", "is not valid: " + err.Error()
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	default:
		return "a " + goKind
	}
}
