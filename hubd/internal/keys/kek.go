// Package keys owns the hub's secrets at rest: the key-encryption keys (KEK
// ring) that seal tenant identities and credentials with an AEAD, the
// additional-data conventions that bind a ciphertext to its row, the tenants'
// age identities, and releasing a secret to an agent by encrypting it to the
// agent's age recipient. Errors never contain key material.
package keys

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// KEKSize is the length of a key-encryption key in bytes.
const KEKSize = 32

// KEK is one key-encryption key.
type KEK struct {
	key [KEKSize]byte
	id  string
}

// ID is the key id recorded next to each ciphertext: the first 8 hex digits
// of the SHA-256 of the key (identifies, does not reveal, the key).
func (k KEK) ID() string { return k.id }

func newKEK(b []byte) KEK {
	var k KEK
	copy(k.key[:], b)
	sum := sha256.Sum256(k.key[:])
	k.id = hex.EncodeToString(sum[:])[:8]
	return k
}

// ParseKEK decodes a KEK from standard base64 (surrounding whitespace
// ignored). It must decode to exactly 32 bytes. The error never echoes the
// input.
func ParseKEK(b64 string) (KEK, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return KEK{}, errors.New("parse KEK: not valid standard base64 (hint: generate one with `openssl rand -base64 32`)")
	}
	if len(raw) != KEKSize {
		return KEK{}, fmt.Errorf("parse KEK: decodes to %d bytes, want %d (hint: `openssl rand -base64 32`)", len(raw), KEKSize)
	}
	return newKEK(raw), nil
}

// GenerateKEK returns a new random KEK.
func GenerateKEK() KEK {
	var b [KEKSize]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return newKEK(b[:])
}

// String hides the key: a KEK printed by accident shows only its id.
func (k KEK) String() string { return "KEK(" + k.id + ")" }

// GoString hides the key from %#v as well.
func (k KEK) GoString() string { return k.String() }

// LoadKEKFile reads a base64 KEK from path. The file must not be readable by
// group or others.
func LoadKEKFile(path string) (KEK, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return KEK{}, fmt.Errorf("load KEK file: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return KEK{}, fmt.Errorf("load KEK file %s: permissions %#o are too open: group or others may read it (hint: chmod 600 %s)", path, perm, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return KEK{}, fmt.Errorf("load KEK file: %w", err)
	}
	k, err := ParseKEK(string(b))
	if err != nil {
		return KEK{}, fmt.Errorf("load KEK file %s: %w", path, err)
	}
	return k, nil
}

// GenerateKEKFile writes a new random KEK, base64 encoded, to path with mode
// 0600. It refuses to overwrite an existing file.
func GenerateKEKFile(path string) (KEK, error) {
	k := GenerateKEK()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return KEK{}, fmt.Errorf("generate KEK file: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(k.key[:]) + "\n")
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		_ = os.Remove(path)
		return KEK{}, fmt.Errorf("generate KEK file %s: %w", path, err)
	}
	return k, nil
}
