package validate

import (
	"crypto/x509"
	"errors"

	"golang.org/x/crypto/ssh"

	"github.com/xvault/xvault/sdk"
)

const maxSecretBytes = 64 << 10

// Credential checks a credential before it is sealed: a password credential
// needs a password; a private key must parse (with its passphrase, when
// given), so a bad key fails now rather than at the first backup.
// Problems never quote the secret.
func Credential(req *sdk.CreateCredentialRequest) Fields {
	f := Fields{}
	Name(f, "name", req.Name)
	switch req.Kind {
	case sdk.CredentialPassword:
		if req.Password == "" {
			f.Add("password", "is required for password credentials")
		}
		if req.PrivateKey != "" {
			f.Add("private_key", "is only for ssh_private_key credentials")
		}
		if req.Passphrase != "" {
			f.Add("passphrase", "is only for ssh_private_key credentials")
		}
	case sdk.CredentialSSHPrivateKey:
		if req.Password != "" {
			f.Add("password", "is only for password credentials")
		}
		checkPrivateKey(f, req.PrivateKey, req.Passphrase)
	case sdk.CredentialS3AccessKey:
		checkS3AccessKey(f, req)
	default:
		f.Add("kind", "must be password, ssh_private_key or s3_access_key")
	}
	if req.Kind != sdk.CredentialS3AccessKey {
		onlyForS3(f, req)
	}
	for field, v := range map[string]string{"password": req.Password, "private_key": req.PrivateKey, "passphrase": req.Passphrase} {
		if len(v) > maxSecretBytes {
			f[field] = "must be at most 64 KiB"
		}
	}
	return f
}

func checkPrivateKey(f Fields, key, passphrase string) {
	if key == "" {
		f.Add("private_key", "is required for ssh_private_key credentials")
		return
	}
	var err error
	if passphrase != "" {
		_, err = ssh.ParseRawPrivateKeyWithPassphrase([]byte(key), []byte(passphrase))
	} else {
		_, err = ssh.ParseRawPrivateKey([]byte(key))
	}
	var missing *ssh.PassphraseMissingError
	switch {
	case err == nil:
	case passphrase != "" && parsesWithout(key):
		f.Add("passphrase", "is given but the private key is not encrypted; leave it out")
	case errors.As(err, &missing):
		f.Add("passphrase", "is required: the private key is encrypted")
	case errors.Is(err, x509.IncorrectPasswordError):
		f.Add("passphrase", "does not decrypt the private key")
	default:
		f.Add("private_key", "is not a PEM or OpenSSH private key that can be parsed")
	}
}

func parsesWithout(key string) bool {
	_, err := ssh.ParseRawPrivateKey([]byte(key))
	return err == nil
}
