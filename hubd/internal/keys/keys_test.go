package keys

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"
	"github.com/stretchr/testify/require"
)

func testKEK(t *testing.T, fill byte) KEK {
	t.Helper()
	k, err := ParseKEK(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, KEKSize)))
	require.NoError(t, err)
	return k
}

func TestParseKEKErrorsHideInput(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"bad base64":  "this-is-not-base64-secretvalue!!",
		"too short":   base64.StdEncoding.EncodeToString([]byte("short-secret-value")),
		"too long":    base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("s"), 33)),
		"url base64":  base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)),
		"empty input": "",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseKEK(in)
			require.Error(t, err)
			if in != "" {
				require.NotContains(t, err.Error(), in)
				require.NotContains(t, err.Error(), "secret")
			}
		})
	}
	k, err := ParseKEK("  " + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)) + "\n")
	require.NoError(t, err)
	require.Len(t, k.ID(), 8)
	shown := "KEK(" + k.ID() + ")"
	require.Equal(t, shown+" "+shown, fmt.Sprintf("%v %#v", k, k), "printing a KEK shows only its id")
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	k1, k2 := testKEK(t, 1), testKEK(t, 2)
	ring, err := NewRing(k1)
	require.NoError(t, err)
	ad := CredentialAD("tenant-a", "cred-1")

	ct, id, err := ring.Seal([]byte("hunter2"), ad)
	require.NoError(t, err)
	require.Equal(t, k1.ID(), id)
	require.NotContains(t, string(ct), "hunter2")
	pt, err := ring.Open(ct, ad, id)
	require.NoError(t, err)
	require.Equal(t, "hunter2", string(pt))

	ct2, _, err := ring.Seal([]byte("hunter2"), ad)
	require.NoError(t, err)
	require.NotEqual(t, ct, ct2, "random nonce")

	_, err = ring.Open(ct, CredentialAD("tenant-b", "cred-1"), id)
	require.ErrorIs(t, err, ErrDecrypt, "wrong AD")
	_, err = ring.Open(ct, TenantKeyAD("tenant-a"), id)
	require.ErrorIs(t, err, ErrDecrypt, "wrong AD kind")

	tampered := bytes.Clone(ct)
	tampered[len(tampered)-1] ^= 1
	_, err = ring.Open(tampered, ad, id)
	require.ErrorIs(t, err, ErrDecrypt)
	_, err = ring.Open(ct[:10], ad, id)
	require.ErrorIs(t, err, ErrDecrypt)

	other, err := NewRing(k2)
	require.NoError(t, err)
	_, err = other.Open(ct, ad, id)
	require.Error(t, err, "wrong key: unknown id")
	_, err = other.Open(ct, ad, k2.ID())
	require.ErrorIs(t, err, ErrDecrypt, "wrong key under the right id")
}

func TestRingRotation(t *testing.T) {
	t.Parallel()
	oldK, newK := testKEK(t, 1), testKEK(t, 2)
	oldRing, err := NewRing(oldK)
	require.NoError(t, err)
	ct, oldID, err := oldRing.Seal([]byte("s"), TenantKeyAD("t"))
	require.NoError(t, err)

	rotated, err := NewRing(newK, oldK)
	require.NoError(t, err)
	require.Equal(t, newK.ID(), rotated.PrimaryID())
	require.Equal(t, []string{newK.ID(), oldK.ID()}, rotated.IDs())
	pt, err := rotated.Open(ct, TenantKeyAD("t"), oldID)
	require.NoError(t, err, "old ciphertexts still open")
	require.Equal(t, "s", string(pt))
	_, id, err := rotated.Seal([]byte("s"), nil)
	require.NoError(t, err)
	require.Equal(t, newK.ID(), id, "new ciphertexts use the first key")

	_, err = NewRing()
	require.Error(t, err)
	_, err = NewRing(oldK, oldK)
	require.Error(t, err)
}

func TestKEKFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "kek")
	k, err := GenerateKEKFile(path)
	require.NoError(t, err)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	loaded, err := LoadKEKFile(path)
	require.NoError(t, err)
	require.Equal(t, k.ID(), loaded.ID())

	_, err = GenerateKEKFile(path)
	require.Error(t, err, "never overwrites")

	require.NoError(t, os.Chmod(path, 0o640))
	_, err = LoadKEKFile(path)
	require.ErrorContains(t, err, "chmod 600")
	require.NoError(t, os.Chmod(path, 0o604))
	_, err = LoadKEKFile(path)
	require.Error(t, err)

	bad := filepath.Join(t.TempDir(), "bad")
	require.NoError(t, os.WriteFile(bad, []byte("c2VjcmV0LXZhbHVl"), 0o600))
	_, err = LoadKEKFile(bad)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "c2VjcmV0LXZhbHVl")
}

func TestEncryptToRecipient(t *testing.T) {
	t.Parallel()
	id, err := NewTenantIdentity()
	require.NoError(t, err)
	armored, err := EncryptToRecipient(id.Recipient().String(), []byte("db-password"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(armored, armor.Header))

	r, err := age.Decrypt(armor.NewReader(strings.NewReader(armored)), id)
	require.NoError(t, err)
	var out bytes.Buffer
	_, err = out.ReadFrom(r)
	require.NoError(t, err)
	require.Equal(t, "db-password", out.String())

	_, err = EncryptToRecipient("not-a-recipient", []byte("x"))
	require.Error(t, err)

	// The standard age tool reads it too, when installed.
	if ageBin, err := exec.LookPath("age"); err == nil {
		keyFile := filepath.Join(t.TempDir(), "key.txt")
		require.NoError(t, os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600))
		cmd := exec.Command(ageBin, "-d", "-i", keyFile)
		cmd.Stdin = strings.NewReader(armored)
		got, err := cmd.Output()
		require.NoError(t, err)
		require.Equal(t, "db-password", string(got))
	}
}
