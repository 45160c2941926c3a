package objstore

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Config names one S3 storage target and its credential.
type Config struct {
	// Endpoint is the base URL: https://s3.example.com[:port]. The TLS
	// certificate is verified. Plain http must be written out
	// (http://127.0.0.1:7070); a bare host is refused.
	Endpoint string
	Bucket   string
	// Region is sent in signatures; empty asks the server (GetBucketLocation).
	Region string
	// Prefix is prepended to every key: "" or a relative path of safe
	// segments, stored with a trailing slash ("backups" becomes "backups/").
	Prefix string
	// PathStyle addresses the bucket as https://host/bucket/key instead of
	// https://bucket.host/key (MinIO, Garage, versitygw, Ceph want it).
	PathStyle       bool
	AccessKeyID     string
	SecretAccessKey string
}

const (
	maxPrefixLen  = 512
	maxAccessKey  = 256
	maxSecretLen  = 1024
	maxRegionLen  = 64
	maxBucketLen  = 63
	minBucketLen  = 3
	maxSegmentLen = 255
)

// Validate checks every field. Its errors match ErrInvalidConfig and never
// contain the secret access key.
func (c Config) Validate() error {
	if _, _, err := parseEndpoint(c.Endpoint); err != nil {
		return err
	}
	if err := validBucket(c.Bucket); err != nil {
		return err
	}
	if _, err := normalPrefix(c.Prefix); err != nil {
		return err
	}
	if len(c.Region) > maxRegionLen || !allRunes(c.Region, isRegionRune) {
		return invalidConfig("region %q must be letters, digits and '-' (at most %d)", c.Region, maxRegionLen)
	}
	if c.AccessKeyID == "" || len(c.AccessKeyID) > maxAccessKey || !allRunes(c.AccessKeyID, isPrintableASCII) {
		return invalidConfig("access key id must be 1 to %d printable ASCII characters", maxAccessKey)
	}
	if c.SecretAccessKey == "" || len(c.SecretAccessKey) > maxSecretLen || !allRunes(c.SecretAccessKey, isPrintableASCII) {
		return invalidConfig("secret access key must be 1 to %d printable ASCII characters", maxSecretLen)
	}
	return nil
}

func invalidConfig(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

// parseEndpoint returns host[:port] and whether the scheme is https. The
// URL must be http(s)://host[:port] with at most a "/" path: no user info
// (a credential in a URL ends up in logs), no query, no fragment.
func parseEndpoint(raw string) (hostport string, secure bool, err error) {
	if raw == "" {
		return "", false, invalidConfig("endpoint is empty (hint: https://s3.example.com)")
	}
	u, perr := url.Parse(raw)
	if perr != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", false, invalidConfig("endpoint must be a URL like https://s3.example.com or http://127.0.0.1:7070")
	}
	if u.User != nil {
		return "", false, invalidConfig("endpoint must not carry a user or password: put the credential in the access key fields")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", false, invalidConfig("endpoint %s://%s must have no path, query or fragment", u.Scheme, u.Host)
	}
	host := u.Hostname()
	if host == "" || strings.ContainsAny(host, " \t\r\n") {
		return "", false, invalidConfig("endpoint %s://%s has no valid host", u.Scheme, u.Host)
	}
	return u.Host, u.Scheme == "https", nil
}

// validBucket applies the S3 bucket naming rules: 3 to 63 characters of
// lowercase letters, digits, '.' and '-'; starting and ending with a
// letter or digit; no "..", ".-" or "-."; not an IPv4 address; not the
// reserved "xn--" / "sthree-" prefixes or "-s3alias" / "--ol-s3" suffixes.
func validBucket(b string) error {
	if len(b) < minBucketLen || len(b) > maxBucketLen {
		return invalidConfig("bucket %q must be %d to %d characters", b, minBucketLen, maxBucketLen)
	}
	if !allRunes(b, isBucketRune) {
		return invalidConfig("bucket %q may hold only lowercase letters, digits, '.' and '-'", b)
	}
	if !isAlnum(rune(b[0])) || !isAlnum(rune(b[len(b)-1])) {
		return invalidConfig("bucket %q must start and end with a letter or digit", b)
	}
	if strings.Contains(b, "..") || strings.Contains(b, ".-") || strings.Contains(b, "-.") {
		return invalidConfig("bucket %q must not contain \"..\", \".-\" or \"-.\"", b)
	}
	if ip := net.ParseIP(b); ip != nil {
		return invalidConfig("bucket %q must not be an IP address", b)
	}
	for _, p := range []string{"xn--", "sthree-"} {
		if strings.HasPrefix(b, p) {
			return invalidConfig("bucket %q must not start with %q (reserved)", b, p)
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3"} {
		if strings.HasSuffix(b, s) {
			return invalidConfig("bucket %q must not end with %q (reserved)", b, s)
		}
	}
	return nil
}

// normalPrefix checks a key prefix and returns it with a trailing slash
// ("" stays ""). Segments are non-empty, not "." or "..", and made of
// letters, digits, '.', '_' and '-'; no leading slash.
func normalPrefix(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	if len(p) > maxPrefixLen {
		return "", invalidConfig("prefix is longer than %d bytes", maxPrefixLen)
	}
	trimmed := strings.TrimSuffix(p, "/")
	if strings.HasPrefix(trimmed, "/") || trimmed == "" {
		return "", invalidConfig("prefix %q must be relative (no leading '/')", p)
	}
	for _, seg := range strings.Split(trimmed, "/") {
		if err := validSegment(seg); err != nil {
			return "", invalidConfig("prefix %q: %v", p, err)
		}
	}
	return trimmed + "/", nil
}

func validSegment(seg string) error {
	switch {
	case seg == "":
		return fmt.Errorf("empty segment (\"//\")")
	case seg == "." || seg == "..":
		return fmt.Errorf("segment %q is not allowed", seg)
	case len(seg) > maxSegmentLen:
		return fmt.Errorf("segment longer than %d bytes", maxSegmentLen)
	case !allRunes(seg, isSegmentRune):
		return fmt.Errorf("segment %q may hold only letters, digits, '.', '_' and '-'", seg)
	}
	return nil
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
