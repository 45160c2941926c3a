package hub

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/xvault/xvault/hubd/internal/auth"
	"github.com/xvault/xvault/hubd/internal/store"
)

// MigrateUp applies the pending migrations of the database at url.
func MigrateUp(ctx context.Context, url string, out io.Writer) error {
	db, err := store.Open(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := store.Migrate(ctx, db); err != nil {
		return err
	}
	return MigrateStatusDB(ctx, db, out)
}

// MigrateStatus prints which migrations are applied.
func MigrateStatus(ctx context.Context, url string, out io.Writer) error {
	db, err := store.Open(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	return MigrateStatusDB(ctx, db, out)
}

// MigrateStatusDB prints the migration status of an open database.
func MigrateStatusDB(ctx context.Context, db *store.DB, out io.Writer) error {
	ms, err := store.MigrationStatus(ctx, db)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "VERSION\tNAME\tAPPLIED\n")
	for _, m := range ms {
		applied := "pending"
		if m.Applied {
			applied = "yes"
			if m.AppliedAt != nil {
				applied = m.AppliedAt.Format(time.RFC3339)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", m.Version, m.Name, applied)
	}
	return tw.Flush()
}

// CreateAdminToken makes a platform admin token in the database at url
// (whose schema must be current) and returns its secret.
func CreateAdminToken(ctx context.Context, url, name string) (string, error) {
	db, err := store.Open(ctx, url)
	if err != nil {
		return "", err
	}
	defer db.Close()
	if err := checkSchema(ctx, db); err != nil {
		return "", err
	}
	token, _, err := auth.CreatePlatformToken(ctx, db, name, time.Now())
	return token, err
}
