package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"github.com/xvault/xvault/sdk"
)

// SecretSize is the number of random bytes of a new signing secret.
const SecretSize = 32

// NewSecret returns a new signing secret: its bytes and their text form,
// "whsec_" + standard base64.
func NewSecret() (raw []byte, text string) {
	raw = make([]byte, SecretSize)
	_, _ = rand.Read(raw) // crypto/rand.Read never fails (Go 1.24+)
	return raw, sdk.WebhookSecretPrefix + base64.StdEncoding.EncodeToString(raw)
}

// DecodeSecret returns the bytes of a "whsec_…" secret.
func DecodeSecret(text string) ([]byte, error) {
	b64, ok := strings.CutPrefix(text, sdk.WebhookSecretPrefix)
	raw, err := base64.StdEncoding.DecodeString(b64)
	if !ok || err != nil || len(raw) < 24 {
		return nil, errors.New("not a webhook secret: want whsec_ and the base64 of at least 24 bytes")
	}
	return raw, nil
}

// Sign returns the webhook-signature header value of a message:
// "v1," + base64(HMAC-SHA256(secret, id + "." + timestamp + "." + body)).
func Sign(secret []byte, id string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(id + "." + strconv.FormatInt(timestamp, 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
