package keys

// WebhookSecretAD is the additional data sealing a webhook's signing
// secret: a sealed secret cannot be moved to another webhook or tenant.
func WebhookSecretAD(tenantID, webhookID string) []byte {
	return []byte("xvault webhook secret " + tenantID + " " + webhookID)
}
