package keys

import (
	"crypto/rand"
	"errors"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// ErrDecrypt is returned when a ciphertext does not open: wrong key, wrong
// additional data, or tampered bytes.
var ErrDecrypt = errors.New("decrypt secret: authentication failed")

// Ring holds the configured KEKs. The first one seals; any of them opens
// (rotation: put the new key first, keep the old ones until re-sealed).
type Ring struct {
	keks []KEK
}

// NewRing builds a ring; the first KEK encrypts. Duplicate keys are refused.
func NewRing(keks ...KEK) (*Ring, error) {
	if len(keks) == 0 {
		return nil, errors.New("key ring: no KEK configured (hint: set XV_KEK or --kek-file)")
	}
	seen := map[string]bool{}
	for _, k := range keks {
		if seen[k.id] {
			return nil, fmt.Errorf("key ring: KEK %s configured twice", k.id)
		}
		seen[k.id] = true
	}
	return &Ring{keks: append([]KEK(nil), keks...)}, nil
}

// PrimaryID is the id of the KEK that seals.
func (r *Ring) PrimaryID() string { return r.keks[0].id }

// IDs lists the ids of all KEKs, primary first.
func (r *Ring) IDs() []string {
	ids := make([]string, len(r.keks))
	for i, k := range r.keks {
		ids[i] = k.id
	}
	return ids
}

// Seal encrypts plaintext with the primary KEK using XChaCha20-Poly1305 and
// a random 24-byte nonce, prepended to the result. ad binds the ciphertext
// to its row (see TenantKeyAD, CredentialAD).
func (r *Ring) Seal(plaintext, ad []byte) (ciphertext []byte, keyID string, err error) {
	k := r.keks[0]
	aead, err := chacha20poly1305.NewX(k.key[:])
	if err != nil {
		return nil, "", fmt.Errorf("seal secret: %w", err)
	}
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, "", fmt.Errorf("seal secret: nonce: %w", err)
	}
	return aead.Seal(out, out, plaintext, ad), k.id, nil
}

// Open decrypts a ciphertext made by Seal with the KEK named keyID. An
// unknown key id, the wrong ad or altered bytes fail (ErrDecrypt).
func (r *Ring) Open(ciphertext, ad []byte, keyID string) ([]byte, error) {
	for _, k := range r.keks {
		if k.id != keyID {
			continue
		}
		aead, err := chacha20poly1305.NewX(k.key[:])
		if err != nil {
			return nil, fmt.Errorf("open secret: %w", err)
		}
		if len(ciphertext) < aead.NonceSize()+aead.Overhead() {
			return nil, fmt.Errorf("open secret: %w (ciphertext too short)", ErrDecrypt)
		}
		nonce, body := ciphertext[:aead.NonceSize()], ciphertext[aead.NonceSize():]
		plain, err := aead.Open(nil, nonce, body, ad)
		if err != nil {
			return nil, ErrDecrypt
		}
		return plain, nil
	}
	return nil, fmt.Errorf("open secret: KEK %q is not configured (hint: add the old KEK to the ring after a rotation)", keyID)
}

// TenantKeyAD is the additional data sealing a tenant's age identity.
func TenantKeyAD(tenantID string) []byte { return []byte("xvault tenant key " + tenantID) }

// CredentialAD is the additional data sealing a credential: a ciphertext
// cannot be moved to another credential row or tenant.
func CredentialAD(tenantID, credentialID string) []byte {
	return []byte("xvault credential " + tenantID + " " + credentialID)
}
