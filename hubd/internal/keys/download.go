package keys

// DownloadTokenAD is the additional data sealing a restore's download token:
// a sealed token cannot be moved to another restore or tenant.
func DownloadTokenAD(tenantID, restoreID string) []byte {
	return []byte("xvault download token " + tenantID + " " + restoreID)
}

// DownloadURLAD is the additional data sealing the presigned URL of a
// download_via bucket restore: like the token, it cannot be moved to
// another restore or tenant.
func DownloadURLAD(tenantID, restoreID string) []byte {
	return []byte("xvault download url " + tenantID + " " + restoreID)
}
