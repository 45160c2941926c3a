package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// LocalActor is the audit actor of changes made from the hubd command line
// (dev mode's first token, `hubd admin-token create`).
const LocalActor = "hubd"

// CreatePlatformToken makes a platform admin token and its audit event in
// one transaction, and returns the secret (shown once) and the row.
func CreatePlatformToken(ctx context.Context, db bun.IDB, name string, now time.Time) (string, *store.APIToken, error) {
	secret, hash, err := NewSecret(PrefixOperator)
	if err != nil {
		return "", nil, err
	}
	t := &store.APIToken{ID: store.NewID(), Kind: string(sdk.TokenPlatformAdmin), Name: name, TokenHash: hash,
		CreatedAt: now.UTC()}
	details, _ := json.Marshal(map[string]string{"name": name})
	err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := store.CreateAPIToken(ctx, tx, t); err != nil {
			return err
		}
		return store.InsertAudit(ctx, tx, &store.AuditEvent{ID: store.NewID(), ActorKind: string(sdk.TokenPlatformAdmin),
			ActorID: LocalActor, Action: "token.create", ObjectType: "api_token", ObjectID: &t.ID, Details: details,
			CreatedAt: now.UTC()})
	})
	if err != nil {
		return "", nil, fmt.Errorf("create platform admin token: %w", err)
	}
	return secret, t, nil
}
