package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/xvault/xvault/agentd/internal/download"
	"github.com/xvault/xvault/sdk"
)

// DefaultDownloadListen is where agentd serves restore downloads by default.
const DefaultDownloadListen = "127.0.0.1:8082"

// downloads is the agent's restore area and its HTTP server.
type downloads struct {
	area      *download.Area
	publicURL string // base of the links: {publicURL}/download/{token}
}

// startDownloads opens the restores area, listens on cfg.DownloadListen and
// serves downloads until ctx ends, with a cleanup loop for expired restores.
// An empty DownloadListen serves nothing (restore jobs then fail). The
// returned function waits for the server to stop.
func (a *Agent) startDownloads(ctx context.Context) (func(), error) {
	if a.cfg.DownloadListen == "" {
		return func() {}, nil
	}
	area, err := download.Open(a.cfg.StorageDir)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", a.cfg.DownloadListen)
	if err != nil {
		if a.cfg.DownloadListenOptional {
			a.log.Warn("download server disabled: cannot listen; restores on this agent will fail "+
				"(hint: choose another --download-listen address)", "addr", a.cfg.DownloadListen, "err", err)
			return func() {}, nil
		}
		return nil, fmt.Errorf("download server: listen on %s: %w (hint: --download-listen)", a.cfg.DownloadListen, err)
	}
	public := strings.TrimRight(a.cfg.PublicURL, "/")
	if public == "" {
		public = "http://" + ln.Addr().String()
	}
	a.downloads = &downloads{area: area, publicURL: public}
	srv := &download.Server{Area: area, Log: a.log, Now: time.Now, Report: func(id string, rep sdk.DownloadReport) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := a.hub.ReportDownload(rctx, id, rep); err != nil {
			a.log.Warn("report download to the hub", "restore_id", id, "err", err)
		}
	}}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("download server stopped", "err", err)
		}
	}()
	go area.CleanupLoop(ctx, a.cfg.CleanupInterval, time.Now, a.log)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	a.log.Info("serving restore downloads", "listen", ln.Addr().String(), "public_url", public)
	return func() { <-done }, nil
}
