package validate

import (
	"github.com/xvault/xvault/internal/s3config"
	"github.com/xvault/xvault/sdk"
)

// StorageTarget checks a storage target before it is stored and returns
// its normalised prefix ("" or ending in "/"). The endpoint, bucket, region
// and prefix rules are internal/s3config's, the very checks the agent's S3
// client runs before it connects.
func StorageTarget(req *sdk.CreateStorageTargetRequest) (prefix string, f Fields) {
	f = Fields{}
	Name(f, "name", req.Name)
	if req.Type != sdk.StorageS3 {
		f.Add("type", "must be s3")
	}
	for field, problem := range s3config.Fields(req.Endpoint, req.Bucket, req.Region, req.Prefix) {
		f.Add(field, problem)
	}
	if req.CredentialID == "" {
		f.Add("credential_id", "is required (an s3_access_key credential)")
	}
	prefix, _ = s3config.NormalPrefix(req.Prefix)
	return prefix, f
}

// checkS3AccessKey: both halves are required and checked like the agent
// will; problems never quote the secret.
func checkS3AccessKey(f Fields, req *sdk.CreateCredentialRequest) {
	if err := s3config.CheckAccessKeyID(req.AccessKeyID); err != nil {
		f.Add("access_key_id", err.Error())
	}
	if err := s3config.CheckSecretAccessKey(req.SecretAccessKey); err != nil {
		f.Add("secret_access_key", err.Error())
	}
	for field, v := range map[string]string{"password": req.Password, "private_key": req.PrivateKey, "passphrase": req.Passphrase} {
		if v != "" {
			f.Add(field, "is not used by s3_access_key credentials")
		}
	}
}

// onlyForS3 refuses the access key fields on the other kinds.
func onlyForS3(f Fields, req *sdk.CreateCredentialRequest) {
	if req.AccessKeyID != "" {
		f.Add("access_key_id", "is only for s3_access_key credentials")
	}
	if req.SecretAccessKey != "" {
		f.Add("secret_access_key", "is only for s3_access_key credentials")
	}
}
