// Package objstore owns snapshot artifacts on S3-compatible object storage
// (AWS S3, Garage, MinIO, Ceph RGW, versitygw, ...), the agent's side: the
// key layout, a streaming multipart upload with bounded memory, reads,
// deletes, presigned links and the sweeper of abandoned uploads. The layout
// mirrors the local one (agentd/internal/storage), below an optional prefix:
//
//	{prefix}tenants/{tenant_id}/sources/{source_id}/snapshots/{snapshot_id}/
//	    backup.tar.zst.age   the artifact, uploaded with Begin / Upload.Complete
//	    manifest.json        small objects, PutSmall
//	    meta.json
//	    index.zst.age        the incremental index, where there is one
//
// The client is minio-go v7 (its Core for the multipart primitives). It
// retries each request on 5xx, throttling and network errors with
// exponential backoff and jitter (Tuning.MaxRetries attempts, 200 ms doubling
// up to 1 s between them); a part is retryable because it is uploaded from
// a seekable in-memory buffer. Errors are *Error values matching
// ErrPermanent or ErrTransient (see errors.go); none carries the secret.
package objstore

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Tuning holds knobs that are not part of a storage target; the zero value
// takes the defaults.
type Tuning struct {
	// PartSize is the size of the first 1000 parts (default 16 MiB, at
	// least 5 MiB, the S3 minimum); see partSize for how it grows.
	PartSize int64
	// Buffers is how many part buffers an upload may hold at once, the one
	// being filled included (default 4): memory per upload is at most
	// Buffers × the current part size.
	Buffers int
	// SkipSHA256: Upload does not hash what it is given, and Complete
	// returns no sha256 (""). For callers that hash the bytes themselves
	// (the agent's archive writer does): a second pass over every byte of
	// the artifact costs ~5 % of a backup's CPU for nothing.
	SkipSHA256 bool
	// MaxRetries is how many times minio-go tries each request (default 10;
	// 1 disables retries).
	MaxRetries int
	// Transport replaces minio-go's default transport (TLS 1.2+, system
	// roots, verified), e.g. to dial through an egress-checking dialer.
	Transport http.RoundTripper
	// DialContext, when set (and Transport is not), opens the client's
	// connections: the agent passes its egress-checked dialer, so a storage
	// target cannot point the agent at an address it may not reach.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

const (
	defaultPartSize = 16 << 20
	minPartSize     = 5 << 20
	defaultBuffers  = 4
	defaultRetries  = 10
)

func (t Tuning) withDefaults() (Tuning, error) {
	if t.PartSize == 0 {
		t.PartSize = defaultPartSize
	}
	if t.PartSize < minPartSize || t.PartSize > maxPartSize {
		return t, invalidConfig("part size %d must be between %d and %d bytes", t.PartSize, minPartSize, int64(maxPartSize))
	}
	if t.Buffers == 0 {
		t.Buffers = defaultBuffers
	}
	if t.Buffers < 1 || t.Buffers > 64 {
		return t, invalidConfig("buffers %d must be between 1 and 64", t.Buffers)
	}
	if t.MaxRetries == 0 {
		t.MaxRetries = defaultRetries
	}
	return t, nil
}

// Store is one bucket (below one prefix) of one S3 endpoint. It is safe for
// concurrent use.
type Store struct {
	cfg      Config
	tune     Tuning
	prefix   string // normalised: "" or ending in "/"
	endpoint string // scheme://host[:port], for messages
	core     *minio.Core
}

// New validates cfg and returns a Store. It makes no request.
func New(cfg Config, tune Tuning) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t, err := tune.withDefaults()
	if err != nil {
		return nil, err
	}
	hostport, secure, _ := parseEndpoint(cfg.Endpoint)
	prefix, _ := normalPrefix(cfg.Prefix)
	lookup := minio.BucketLookupDNS
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	scheme := "http"
	if secure {
		scheme = "https"
	}
	transport := t.Transport
	if transport == nil && t.DialContext != nil {
		tr, err := minio.DefaultTransport(secure)
		if err != nil {
			return nil, fmt.Errorf("%w: s3 transport: %v", ErrInvalidConfig, err)
		}
		tr.DialContext = t.DialContext
		transport = tr
	}
	core, err := minio.NewCore(hostport, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKeyID, cfg.SecretAccessKey, ""),
		Secure:       secure,
		Region:       cfg.Region,
		BucketLookup: lookup,
		MaxRetries:   t.MaxRetries,
		Transport:    transport,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: s3 client for %s://%s: %v", ErrInvalidConfig, scheme, hostport,
			redact(err.Error(), cfg.SecretAccessKey))
	}
	return &Store{cfg: cfg, tune: t, prefix: prefix, endpoint: scheme + "://" + hostport, core: core}, nil
}

// Bucket returns the bucket name.
func (s *Store) Bucket() string { return s.cfg.Bucket }

// Endpoint returns scheme://host[:port] of the server.
func (s *Store) Endpoint() string { return s.endpoint }

// Prefix returns the normalised key prefix ("" or ending in "/").
func (s *Store) Prefix() string { return s.prefix }

// Check is `xv storage test`: the bucket exists and the credential can
// write, read and delete in it (a probe object below the prefix).
func (s *Store) Check(ctx context.Context) error {
	ok, err := s.core.BucketExists(ctx, s.cfg.Bucket)
	if err != nil {
		return s.wrap("check bucket", err)
	}
	if !ok {
		return s.newError("check bucket", ErrNoSuchBucket, nil)
	}
	return s.probe(ctx)
}
