package keys

import (
	"bytes"
	"errors"
	"fmt"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// NewTenantIdentity makes a tenant's age X25519 identity. Its String() is the
// secret (seal it with Ring.Seal and TenantKeyAD); Recipient().String() is
// the public key stored in clear and given to agents.
func NewTenantIdentity() (*age.X25519Identity, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, fmt.Errorf("generate tenant identity: %w", err)
	}
	return id, nil
}

// EncryptToRecipient encrypts plaintext to one age X25519 recipient
// ("age1…") and returns it ASCII-armored: how the hub releases a secret to
// the agent holding a lease.
func EncryptToRecipient(recipient string, plaintext []byte) (string, error) {
	r, err := age.ParseX25519Recipient(recipient)
	if err != nil {
		return "", errors.New("encrypt to agent: malformed age recipient (want age1…)")
	}
	var buf bytes.Buffer
	aw := armor.NewWriter(&buf)
	w, err := age.Encrypt(aw, r)
	if err != nil {
		return "", fmt.Errorf("encrypt to agent: %w", err)
	}
	if _, err := w.Write(plaintext); err != nil {
		return "", fmt.Errorf("encrypt to agent: %w", err)
	}
	if err := errors.Join(w.Close(), aw.Close()); err != nil {
		return "", fmt.Errorf("encrypt to agent: %w", err)
	}
	return buf.String(), nil
}
