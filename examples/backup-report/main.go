// Command backup-report answers the 3 a.m. question "is every source of this
// tenant backed up?" through the xVault SDK.
//
// It lists every source of the tenant with its newest completed snapshot and
// that snapshot's age, and exits 1 when any active source has no completed
// snapshot within -max-age (default 26h: a daily backup plus some slack).
//
//	XV_HUB_URL=http://127.0.0.1:8080 XV_TOKEN=… XV_TENANT=… go run ./examples/backup-report
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"text/tabwriter"
	"time"

	"github.com/xvault/xvault/sdk"
)

func main() {
	maxAge := flag.Duration("max-age", 26*time.Hour, "a source is stale when its newest completed snapshot is older than this")
	flag.Parse()

	hub, token := os.Getenv("XV_HUB_URL"), os.Getenv("XV_TOKEN")
	if hub == "" || token == "" {
		fmt.Fprintln(os.Stderr, "backup-report: set XV_HUB_URL and XV_TOKEN (and XV_TENANT for a platform-admin token)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	client := sdk.New(hub, token, sdk.WithTenant(os.Getenv("XV_TENANT")), sdk.WithUserAgent("xvault-backup-report"))
	stale, err := report(ctx, os.Stdout, client, *maxAge, time.Now())
	if err != nil {
		fmt.Fprintln(os.Stderr, "backup-report:", err)
		os.Exit(2)
	}
	if stale > 0 {
		fmt.Fprintf(os.Stderr, "backup-report: %d source(s) without a completed snapshot in the last %s\n", stale, *maxAge)
		os.Exit(1)
	}
}

// report prints one line per source and returns how many active sources are
// stale.
func report(ctx context.Context, out io.Writer, c *sdk.Client, maxAge time.Duration, now time.Time) (int, error) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "SOURCE\tNAME\tSTATUS\tNEWEST SNAPSHOT\tAGE\tVERDICT")
	stale := 0
	sources := sdk.All(ctx, func(ctx context.Context, cursor string) (*sdk.Page[sdk.Source], error) {
		return c.ListSources(ctx, sdk.SourceListOptions{ListOptions: sdk.ListOptions{Limit: 500, Cursor: cursor}})
	})
	for src, err := range sources {
		if err != nil {
			return 0, fmt.Errorf("list sources: %w", err)
		}
		snap, err := newestCompleted(ctx, c, src.ID)
		if err != nil {
			return 0, fmt.Errorf("snapshots of source %s: %w", src.ID, err)
		}
		verdict, id, age := "ok", "-", "-"
		if snap != nil {
			id, age = snap.ID, now.Sub(snap.CreatedAt).Round(time.Minute).String()
		}
		switch {
		case src.Status == sdk.SourceDisabled:
			verdict = "disabled (not checked)"
		case snap == nil:
			verdict, stale = "STALE: never backed up", stale+1
		case now.Sub(snap.CreatedAt) > maxAge:
			verdict, stale = "STALE", stale+1
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", src.ID, src.Name, src.Status, id, age, verdict)
	}
	return stale, w.Flush()
}

// newestCompleted returns the newest completed snapshot of a source, or nil.
// Lists are newest first, so the walk stops at the first completed one.
func newestCompleted(ctx context.Context, c *sdk.Client, sourceID string) (*sdk.Snapshot, error) {
	snaps := sdk.All(ctx, func(ctx context.Context, cursor string) (*sdk.Page[sdk.Snapshot], error) {
		return c.ListSnapshots(ctx, sdk.SnapshotListOptions{SourceID: sourceID,
			ListOptions: sdk.ListOptions{Limit: 20, Cursor: cursor}})
	})
	for s, err := range snaps {
		if err != nil {
			return nil, err
		}
		if s.Status == sdk.SnapshotCompleted {
			return &s, nil
		}
	}
	return nil, nil
}
