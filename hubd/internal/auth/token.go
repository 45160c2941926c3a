// Package auth owns the hub's bearer tokens: generating secrets, hashing
// them for storage, and resolving a request's token into a Caller with a
// kind, a tenant and a role.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// Token prefixes make a leaked secret recognizable (secret scanners, logs)
// and tell at a glance what it opens.
const (
	PrefixOperator   = "xvt_" // platform admin and tenant tokens
	PrefixAgent      = "xva_" // an enrolled agent's own token
	PrefixEnrollment = "xve_" // exchanged once (or a few times) for an agent token
)

// secretBytes is the entropy of every token: 256 bits.
const secretBytes = 32

// NewSecret makes a token secret with the given prefix and returns it with
// its SHA-256 hash, which is what the database stores.
func NewSecret(prefix string) (secret string, hash []byte, err error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("generate token: %w", err)
	}
	secret = prefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, Hash(secret), nil
}

// Hash is the stored form of a token secret. Lookups go by this hash, so the
// secret itself is never compared byte by byte against stored data.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// BearerToken extracts the token of an "Authorization: Bearer …" header
// value; ok is false when the header is absent or not a bearer token.
func BearerToken(header string) (token string, ok bool) {
	scheme, rest, found := strings.Cut(strings.TrimSpace(header), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(rest)
	return token, token != ""
}

// wellFormed rejects obviously bad tokens before touching the database.
func wellFormed(token, prefix string) bool {
	if !strings.HasPrefix(token, prefix) {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(token[len(prefix):])
	return err == nil && len(b) == secretBytes
}
