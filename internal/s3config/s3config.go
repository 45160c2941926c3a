// Package s3config owns the pure checks of an S3 storage target's settings:
// endpoint URL, bucket name, region, key prefix and access key. The hub runs
// them when a target or an s3_access_key credential is created (it never
// talks to the bucket), and the agent's objstore runs them again before it
// connects. Nothing here does I/O, and no message ever quotes a secret.
package s3config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Limits of the settings.
const (
	MaxPrefixLen    = 512
	MaxAccessKeyLen = 256
	MaxSecretLen    = 1024
	MaxRegionLen    = 64
	MaxBucketLen    = 63
	MinBucketLen    = 3
	maxSegmentLen   = 255
	maxEndpointLen  = 2048
)

// Fields checks a target's public settings and returns one problem per
// field ("endpoint", "bucket", "region", "prefix"); nil when all are valid.
func Fields(endpoint, bucket, region, prefix string) map[string]string {
	f := map[string]string{}
	if _, _, err := ParseEndpoint(endpoint); err != nil {
		f["endpoint"] = err.Error()
	}
	if err := CheckBucket(bucket); err != nil {
		f["bucket"] = err.Error()
	}
	if err := CheckRegion(region); err != nil {
		f["region"] = err.Error()
	}
	if _, err := NormalPrefix(prefix); err != nil {
		f["prefix"] = err.Error()
	}
	if len(f) == 0 {
		return nil
	}
	return f
}

// ParseEndpoint returns host[:port] and whether the scheme is https. The
// URL must be http(s)://host[:port] with at most a "/" path: no user info
// (a credential in a URL ends up in logs), no query, no fragment.
func ParseEndpoint(raw string) (hostport string, secure bool, err error) {
	if raw == "" {
		return "", false, errors.New("endpoint is empty (hint: https://s3.example.com)")
	}
	if len(raw) > maxEndpointLen {
		return "", false, fmt.Errorf("endpoint is longer than %d bytes", maxEndpointLen)
	}
	u, perr := url.Parse(raw)
	if perr != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", false, errors.New("endpoint must be a URL like https://s3.example.com or http://127.0.0.1:7070")
	}
	if u.User != nil {
		return "", false, errors.New("endpoint must not carry a user or password: put the credential in the access key fields")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || u.ForceQuery {
		return "", false, fmt.Errorf("endpoint %s://%s must have no path, query or fragment", u.Scheme, u.Host)
	}
	host := u.Hostname()
	if host == "" || strings.ContainsAny(host, " \t\r\n") {
		return "", false, fmt.Errorf("endpoint %s://%s has no valid host", u.Scheme, u.Host)
	}
	return u.Host, u.Scheme == "https", nil
}

// CheckBucket applies the S3 bucket naming rules: 3 to 63 characters of
// lowercase letters, digits, '.' and '-'; starting and ending with a
// letter or digit; no "..", ".-" or "-."; not an IPv4 address; not the
// reserved "xn--" / "sthree-" prefixes or "-s3alias" / "--ol-s3" suffixes.
func CheckBucket(b string) error {
	if len(b) < MinBucketLen || len(b) > MaxBucketLen {
		return fmt.Errorf("bucket %q must be %d to %d characters", clip(b), MinBucketLen, MaxBucketLen)
	}
	if !allRunes(b, isBucketRune) {
		return fmt.Errorf("bucket %q may hold only lowercase letters, digits, '.' and '-'", b)
	}
	if !isAlnum(rune(b[0])) || !isAlnum(rune(b[len(b)-1])) {
		return fmt.Errorf("bucket %q must start and end with a letter or digit", b)
	}
	if strings.Contains(b, "..") || strings.Contains(b, ".-") || strings.Contains(b, "-.") {
		return fmt.Errorf("bucket %q must not contain \"..\", \".-\" or \"-.\"", b)
	}
	if ip := net.ParseIP(b); ip != nil {
		return fmt.Errorf("bucket %q must not be an IP address", b)
	}
	for _, p := range []string{"xn--", "sthree-"} {
		if strings.HasPrefix(b, p) {
			return fmt.Errorf("bucket %q must not start with %q (reserved)", b, p)
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3"} {
		if strings.HasSuffix(b, s) {
			return fmt.Errorf("bucket %q must not end with %q (reserved)", b, s)
		}
	}
	return nil
}

// CheckRegion accepts "" (ask the server) or letters, digits and '-'.
func CheckRegion(r string) error {
	if len(r) > MaxRegionLen || !allRunes(r, isRegionRune) {
		return fmt.Errorf("region %q must be letters, digits and '-' (at most %d)", clip(r), MaxRegionLen)
	}
	return nil
}

// NormalPrefix checks a key prefix and returns it with a trailing slash
// ("" stays ""). Segments are non-empty, not "." or "..", and made of
// letters, digits, '.', '_' and '-'; no leading slash.
func NormalPrefix(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	if len(p) > MaxPrefixLen {
		return "", fmt.Errorf("prefix is longer than %d bytes", MaxPrefixLen)
	}
	trimmed := strings.TrimSuffix(p, "/")
	if strings.HasPrefix(trimmed, "/") || trimmed == "" {
		return "", fmt.Errorf("prefix %q must be relative (no leading '/')", p)
	}
	for _, seg := range strings.Split(trimmed, "/") {
		if err := CheckSegment(seg); err != nil {
			return "", fmt.Errorf("prefix %q: %w", p, err)
		}
	}
	return trimmed + "/", nil
}

// CheckAccessKeyID: 1 to 256 printable ASCII characters, no spaces.
func CheckAccessKeyID(id string) error {
	if id == "" || len(id) > MaxAccessKeyLen || !allRunes(id, isPrintableASCII) {
		return fmt.Errorf("access key id must be 1 to %d printable ASCII characters", MaxAccessKeyLen)
	}
	return nil
}

// CheckSecretAccessKey: 1 to 1024 printable ASCII characters, no spaces.
// The message never quotes the secret.
func CheckSecretAccessKey(s string) error {
	if s == "" || len(s) > MaxSecretLen || !allRunes(s, isPrintableASCII) {
		return fmt.Errorf("secret access key must be 1 to %d printable ASCII characters", MaxSecretLen)
	}
	return nil
}

// CheckSegment checks one segment of a key or prefix: not empty, not "."
// or "..", at most 255 bytes of letters, digits, '.', '_' and '-'.
func CheckSegment(seg string) error {
	switch {
	case seg == "":
		return errors.New("empty segment (\"//\")")
	case seg == "." || seg == "..":
		return fmt.Errorf("segment %q is not allowed", seg)
	case len(seg) > maxSegmentLen:
		return fmt.Errorf("segment longer than %d bytes", maxSegmentLen)
	case !allRunes(seg, isSegmentRune):
		return fmt.Errorf("segment %q may hold only letters, digits, '.', '_' and '-'", seg)
	}
	return nil
}

// clip keeps an echoed value short in messages.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func allRunes(s string, ok func(rune) bool) bool {
	for _, r := range s {
		if !ok(r) {
			return false
		}
	}
	return true
}

func isAlnum(r rune) bool {
	return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
}
func isBucketRune(r rune) bool {
	return (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '.' || r == '-'
}
func isRegionRune(r rune) bool     { return isAlnum(r) || r == '-' }
func isSegmentRune(r rune) bool    { return isAlnum(r) || r == '.' || r == '_' || r == '-' }
func isPrintableASCII(r rune) bool { return r > ' ' && r < 0x7f }
