package storage

import (
	"context"
	"fmt"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/sdk"
)

// Resolve turns what a user wrote after --storage / --default-storage into
// a storage target id: "local_fs" is "" (no target: the agent's disk);
// otherwise the id or the name of a target the client's tenant may use.
// A name that a tenant target and a platform target share is ambiguous.
func Resolve(ctx context.Context, c *sdk.Client, arg string) (string, error) {
	if arg == sdk.StorageLocal {
		return "", nil
	}
	var byName []sdk.StorageTarget
	for t, err := range sdk.All(ctx, func(ctx context.Context, cursor string) (*sdk.Page[sdk.StorageTarget], error) {
		return c.ListStorageTargets(ctx, sdk.ListOptions{Limit: 500, Cursor: cursor})
	}) {
		if err != nil {
			return "", fmt.Errorf("resolve storage target %q: %w", arg, err)
		}
		if t.ID == arg {
			return t.ID, nil
		}
		if t.Name == arg {
			byName = append(byName, t)
		}
	}
	switch len(byName) {
	case 1:
		return byName[0].ID, nil
	case 0:
		return "", cmdutil.WithHint(fmt.Errorf("no storage target %q: %w", arg, sdk.ErrNotFound),
			"'xv storage list' shows the targets you may use; %s means the agent's disk", sdk.StorageLocal)
	default:
		return "", cmdutil.WithHint(fmt.Errorf("storage target name %q is ambiguous (%s and %s)", arg,
			byName[0].ID, byName[1].ID), "give the target's id")
	}
}
