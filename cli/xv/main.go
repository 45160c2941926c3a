// Command xv is the xVault command line: it drives the hub through the SDK.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/xvault/xvault/cli/internal/cmd/root"
	"github.com/xvault/xvault/cli/internal/cmdutil"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := root.Run(ctx, cmdutil.NewFactory(version), os.Args)
	stop()
	os.Exit(code)
}
