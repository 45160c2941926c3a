package download

import (
	"errors"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/xvault/xvault/sdk"
)

// Server answers GET /download/{token}: 404 for an unknown token, 410 once
// expired, the file otherwise, with Range support (http.ServeContent),
// Content-Length and Content-Disposition. Every download is reported.
type Server struct {
	Area *Area
	Log  *slog.Logger
	Now  func() time.Time
	// Report receives one report per download answered with the file
	// (called in its own goroutine; it should not block for long).
	Report func(restoreID string, r sdk.DownloadReport)
}

// Handler is the server's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /download/{token}", s.serveDownload)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return mux
}

func (s *Server) serveDownload(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	m, path, err := s.Area.Lookup(r.PathValue("token"), s.Now())
	switch {
	case errors.Is(err, ErrExpired):
		http.Error(w, "download link expired", http.StatusGone)
		return
	case errors.Is(err, ErrUnknown):
		http.Error(w, "unknown download link", http.StatusNotFound)
		return
	case err != nil:
		s.Log.Error("look up download", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		http.Error(w, "unknown download link", http.StatusNotFound)
		return
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": m.FileName}))
	h.Set("Content-Type", "application/octet-stream")
	cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
	http.ServeContent(cw, r, "", fi.ModTime(), f)
	s.report(m, r, cw)
}

func (s *Server) report(m *Meta, r *http.Request, cw *countingWriter) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	rep := sdk.DownloadReport{RemoteAddr: host, Bytes: cw.n, Status: cw.status, Range: r.Header.Get("Range")}
	s.Log.Info("download served", "restore_id", m.RestoreID, "tenant_id", m.TenantID, "remote_addr", host,
		"bytes", cw.n, "status", cw.status)
	if s.Report != nil && r.Method == http.MethodGet {
		go s.Report(m.RestoreID, rep)
	}
}

// countingWriter counts the body bytes sent and remembers the status.
type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (c *countingWriter) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}
