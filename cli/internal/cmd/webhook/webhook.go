// Package webhook implements `xv webhook`: register the URLs that receive a
// tenant's events, signed by the Standard Webhooks convention, send a test
// event and see how deliveries went.
package webhook

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/cli/internal/output"
	"github.com/xvault/xvault/sdk"
)

// NewCmd returns `xv webhook`.
func NewCmd(f *cmdutil.Factory) *cli.Command {
	return cmdutil.Group(&cli.Command{
		Name:  "webhook",
		Usage: "Send signed events (job.failed, source.overdue, …) to your own HTTP endpoints",
		Subcommands: []*cli.Command{newCreateCmd(f), newListCmd(f), newShowCmd(f), newDeleteCmd(f), newTestCmd(f),
			newDeliveriesCmd(f)},
	})
}

type createOptions struct {
	cmdutil.Deps
	Req sdk.CreateWebhookRequest
}

func newCreateCmd(f *cmdutil.Factory) *cli.Command {
	opts := &createOptions{}
	var events cli.StringSlice
	return &cli.Command{
		Name:  "create",
		Usage: "Register a webhook; prints its signing secret once",
		UsageText: `xv webhook create --url URL --event TYPE [--event TYPE …] [--description TEXT] [--tenant ID]

Event types: ` + strings.Join(sdk.WebhookEventTypes(), ", ") + `.
Deliveries carry the headers webhook-id, webhook-timestamp and webhook-signature
(standardwebhooks.com); verify them with the whsec_ secret printed here, which
is never shown again. The URL must be http(s) on a public address unless the hub
runs with --allow-webhook-private (or --dev).

Examples:
   xv webhook create --url https://hooks.example.com/xvault --event job.failed --event source.overdue
   go run ./examples/webhook-receiver --secret whsec_… --listen :9000`,
		Flags: []cli.Flag{cmdutil.TenantFlag(),
			&cli.StringFlag{Name: "url", Usage: "the endpoint `URL` (http or https)", Destination: &opts.Req.URL},
			&cli.StringSliceFlag{Name: "event", Usage: "an event `TYPE` to send (repeatable)", Destination: &events},
			&cli.StringFlag{Name: "description", Usage: "a note for humans (at most 200 bytes)", Destination: &opts.Req.Description},
		},
		Action: func(c *cli.Context) error {
			if _, err := cmdutil.Args(c); err != nil {
				return err
			}
			opts.Req.Events = events.Value()
			if err := checkCreate(&opts.Req); err != nil {
				return err
			}
			var err error
			if opts.Deps, err = f.Deps(c); err != nil {
				return err
			}
			w, err := opts.Client.CreateWebhook(c.Context, opts.Req)
			if err != nil {
				return err
			}
			if opts.Out.JSON() {
				return opts.Out.PrintJSON(w)
			}
			if err := printWebhook(opts.Deps, &w.Webhook, w.Secret); err != nil {
				return err
			}
			fmt.Fprintln(opts.IO.ErrOut, "Store the secret now: it is not shown again.")
			return nil
		},
	}
}

// checkCreate catches the usage mistakes before asking the hub.
func checkCreate(req *sdk.CreateWebhookRequest) error {
	if req.URL == "" {
		return cmdutil.UsageErrorf("--url URL is required")
	}
	if len(req.Events) == 0 {
		return cmdutil.UsageErrorf("give at least one --event TYPE: %s", strings.Join(sdk.WebhookEventTypes(), ", "))
	}
	for _, e := range req.Events {
		if err := cmdutil.OneOf("event", e, sdk.WebhookEventTypes()...); err != nil {
			return err
		}
	}
	return nil
}

func printWebhook(d cmdutil.Deps, w *sdk.Webhook, secret string) error {
	fl := d.Out.Fields()
	fl.Add("ID", w.ID)
	fl.Add("URL", w.URL)
	fl.Add("Events", strings.Join(w.Events, ", "))
	if w.Description != "" {
		fl.Add("Description", w.Description)
	}
	fl.Add("Created", d.Out.When(w.CreatedAt))
	if secret != "" {
		fl.Add("Secret", secret)
	}
	return fl.Flush()
}

func newListCmd(f *cmdutil.Factory) *cli.Command {
	var deps cmdutil.Deps
	var list sdk.ListOptions
	return &cli.Command{
		Name: "list", Usage: "List webhooks, newest first",
		UsageText: "xv webhook list [--limit N] [--cursor C] [--tenant ID]",
		Flags:     append([]cli.Flag{cmdutil.TenantFlag()}, cmdutil.ListFlags(&list)...),
		Action: func(c *cli.Context) error {
			if err := cmdutil.StartList(c, f, list, &deps); err != nil {
				return err
			}
			page, err := deps.Client.ListWebhooks(c.Context, list)
			if err != nil {
				return err
			}
			cmdutil.NoteMore(deps, page.NextCursor)
			if deps.Out.JSON() {
				return deps.Out.PrintJSON(output.Items(page.Items))
			}
			t := deps.Out.Table("ID", "URL", "EVENTS", "CREATED")
			for _, w := range page.Items {
				t.Row(w.ID, w.URL, strings.Join(w.Events, ","), deps.Out.Ago(w.CreatedAt))
			}
			return t.Flush()
		},
	}
}

func newShowCmd(f *cmdutil.Factory) *cli.Command {
	opts := &cmdutil.IDOptions{}
	return &cli.Command{
		Name: "show", Usage: "Show one webhook (never its secret)", UsageText: "xv webhook show ID [--tenant ID]",
		Flags: []cli.Flag{cmdutil.TenantFlag()},
		Action: func(c *cli.Context) error {
			return cmdutil.WithID(c, f, opts, func(ctx context.Context, o *cmdutil.IDOptions) error {
				w, err := o.Client.GetWebhook(ctx, o.ID)
				if err != nil {
					return err
				}
				if o.Out.JSON() {
					return o.Out.PrintJSON(w)
				}
				return printWebhook(o.Deps, w, "")
			})
		},
	}
}

func newDeleteCmd(f *cmdutil.Factory) *cli.Command {
	opts := &cmdutil.IDOptions{}
	return &cli.Command{
		Name: "delete", Usage: "Delete a webhook and its pending deliveries", UsageText: "xv webhook delete ID [--tenant ID]",
		Flags: []cli.Flag{cmdutil.TenantFlag()},
		Action: func(c *cli.Context) error {
			return cmdutil.WithID(c, f, opts, func(ctx context.Context, o *cmdutil.IDOptions) error {
				if err := o.Client.DeleteWebhook(ctx, o.ID); err != nil {
					return err
				}
				return cmdutil.PrintDeleted(o.Deps, "webhook", o.ID)
			})
		},
	}
}

func newTestCmd(f *cmdutil.Factory) *cli.Command {
	opts := &cmdutil.IDOptions{}
	return &cli.Command{
		Name: "test", Usage: "Send a webhook.test event now", UsageText: `xv webhook test ID [--tenant ID]

The hub sends it within about a second; 'xv webhook deliveries ID' shows how it went.`,
		Flags: []cli.Flag{cmdutil.TenantFlag()},
		Action: func(c *cli.Context) error {
			return cmdutil.WithID(c, f, opts, func(ctx context.Context, o *cmdutil.IDOptions) error {
				d, err := o.Client.TestWebhook(ctx, o.ID)
				if err != nil {
					return err
				}
				if o.Out.JSON() {
					return o.Out.PrintJSON(d)
				}
				_, err = fmt.Fprintf(o.Out.Out, "Queued test delivery %s (see: xv webhook deliveries %s).\n", d.ID, o.ID)
				return err
			})
		},
	}
}

func newDeliveriesCmd(f *cmdutil.Factory) *cli.Command {
	opts := &cmdutil.IDOptions{}
	var list sdk.ListOptions
	return &cli.Command{
		Name: "deliveries", Usage: "List a webhook's deliveries: status code, attempts, next retry, error",
		UsageText: "xv webhook deliveries ID [--limit N] [--cursor C] [--tenant ID]",
		Flags:     append([]cli.Flag{cmdutil.TenantFlag()}, cmdutil.ListFlags(&list)...),
		Action: func(c *cli.Context) error {
			if err := cmdutil.CheckLimit(list); err != nil {
				return err
			}
			return cmdutil.WithID(c, f, opts, func(ctx context.Context, o *cmdutil.IDOptions) error {
				page, err := o.Client.ListWebhookDeliveries(ctx, o.ID, list)
				if err != nil {
					return err
				}
				cmdutil.NoteMore(o.Deps, page.NextCursor)
				if o.Out.JSON() {
					return o.Out.PrintJSON(output.Items(page.Items))
				}
				t := o.Out.Table("ID", "EVENT", "STATUS", "CODE", "ATTEMPTS", "NEXT RETRY", "CREATED", "ERROR")
				for _, d := range page.Items {
					code := "-"
					if d.StatusCode != 0 {
						code = strconv.Itoa(d.StatusCode)
					}
					t.Row(d.ID, d.EventType, d.Status, code, strconv.Itoa(d.Attempts), o.Out.WhenPtr(d.NextAttemptAt),
						o.Out.Ago(d.CreatedAt), d.Error)
				}
				return t.Flush()
			})
		},
	}
}
