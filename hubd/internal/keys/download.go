package keys

// DownloadTokenAD is the additional data sealing a restore's download token:
// a sealed token cannot be moved to another restore or tenant.
func DownloadTokenAD(tenantID, restoreID string) []byte {
	return []byte("xvault download token " + tenantID + " " + restoreID)
}
