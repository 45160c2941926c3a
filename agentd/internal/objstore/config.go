package objstore

import (
	"errors"
	"fmt"

	"github.com/xvault/xvault/internal/s3config"
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

// Validate checks every field (the checks live in internal/s3config, which
// the hub runs too). Its errors match ErrInvalidConfig and never contain the
// secret access key.
func (c Config) Validate() error {
	if _, _, err := parseEndpoint(c.Endpoint); err != nil {
		return err
	}
	checks := []func() error{
		func() error { return s3config.CheckBucket(c.Bucket) },
		func() error { _, err := normalPrefix(c.Prefix); return err },
		func() error { return s3config.CheckRegion(c.Region) },
		func() error { return s3config.CheckAccessKeyID(c.AccessKeyID) },
		func() error { return s3config.CheckSecretAccessKey(c.SecretAccessKey) },
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return asInvalid(err)
		}
	}
	return nil
}

func invalidConfig(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

// asInvalid marks a settings problem as ErrInvalidConfig.
func asInvalid(err error) error {
	if errors.Is(err, ErrInvalidConfig) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
}

// validSegment checks one segment of a key (s3config.CheckSegment).
func validSegment(seg string) error { return s3config.CheckSegment(seg) }

// parseEndpoint is s3config.ParseEndpoint with ErrInvalidConfig errors.
func parseEndpoint(raw string) (hostport string, secure bool, err error) {
	hostport, secure, err = s3config.ParseEndpoint(raw)
	if err != nil {
		return "", false, asInvalid(err)
	}
	return hostport, secure, nil
}

// normalPrefix is s3config.NormalPrefix with ErrInvalidConfig errors.
func normalPrefix(p string) (string, error) {
	out, err := s3config.NormalPrefix(p)
	if err != nil {
		return "", asInvalid(err)
	}
	return out, nil
}
