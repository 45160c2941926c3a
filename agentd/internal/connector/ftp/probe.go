package ftp

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/xvault/xvault/sdk"
)

// itemsPerPath is how many entries of each configured directory Test lists.
const itemsPerPath = 10

// Test connects, logs in, names the server, and checks that every
// configured path exists and can be listed; it changes nothing. A refused
// connection, login or path is a failed check of the report, not an error:
// the error is for a cancelled test.
func (c *Connector) Test(ctx context.Context) (*sdk.TestReport, error) {
	rep := &sdk.TestReport{OK: true}
	check := func(name string, err error, detail string) bool {
		if err != nil {
			rep.OK, detail = false, err.Error()
		}
		rep.Checks = append(rep.Checks, sdk.TestCheck{Name: name, OK: err == nil, Detail: detail})
		return err == nil
	}
	if warn := c.insecureWarning(); warn != nil {
		c.log.Warn("TLS certificate not verified", "warning", warn)
		rep.Warnings = append(rep.Warnings, warn.Error())
	}
	s, err := c.dial(ctx)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("test %s: %w", c.addr, ctx.Err())
	}
	if !check("connect", err, "") {
		return rep, nil
	}
	defer s.close()
	sw := s.server()
	rep.Server = strings.TrimSpace(sw.Name + " " + sw.Version)
	rep.Checks[0].Detail = c.connectDetail(rep.Server)
	err = s.login(c, c.password)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("test %s: %w", c.addr, ctx.Err())
	}
	if untrusted(err) { // explicit TLS: the handshake ran with the first command after AUTH TLS
		rep.OK, rep.Checks[0] = false, sdk.TestCheck{Name: "connect", Detail: err.Error()}
		return rep, nil
	}
	if !check("authenticate", err, fmt.Sprintf("logged in as %q; directories listed with %s", c.cfg.Username, s.listingMethod())) {
		return rep, nil
	}
	w := &walker{s: s}
	for _, p := range c.cfg.Paths {
		c.testPath(ctx, w, p, rep, check)
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("test %s: %w", c.addr, ctx.Err())
	}
	return rep, nil
}

func (c *Connector) connectDetail(server string) string {
	switch {
	case c.cfg.TLS == tlsNone:
		return server + ", plain FTP (no TLS)"
	case c.cfg.InsecureSkipVerify:
		return server + ", TLS " + c.cfg.TLS + ", certificate NOT verified (insecure_skip_verify)"
	}
	return server + ", TLS " + c.cfg.TLS + ", certificate verified"
}

// testPath checks that configured path p exists and, for a directory, can
// be listed, and adds it and its first entries to the report's items.
func (c *Connector) testPath(ctx context.Context, w *walker, p string, rep *sdk.TestReport,
	check func(string, error, string) bool) {
	if ctx.Err() != nil {
		return
	}
	e := listEntry{kind: kindDir}
	if p != "/" {
		var err error
		if e, err = w.lookup(p); !check("path "+p, err, "exists: "+kindName(e.kind)) {
			return
		}
	}
	rep.Items = append(rep.Items, sdk.TestItem{Name: p, Kind: kindName(e.kind), SizeBytes: e.size})
	if e.kind != kindDir {
		return
	}
	l, err := w.s.list(p)
	detail := ""
	if err == nil {
		detail = fmt.Sprintf("%d entries", len(l.entries))
		if !l.dots && len(l.entries) == 0 && !w.s.mlsd {
			detail += ` (listed without ".": the server may not be able to read it)`
		}
	}
	if !check("list "+p, err, detail) {
		return
	}
	for _, ce := range l.entries[:min(len(l.entries), itemsPerPath)] {
		rep.Items = append(rep.Items, sdk.TestItem{Name: path.Join(p, ce.name), Kind: kindName(ce.kind), SizeBytes: ce.size})
	}
}

func kindName(k kind) string {
	switch k {
	case kindFile:
		return "file"
	case kindDir:
		return "dir"
	case kindSymlink:
		return "symlink"
	}
	return "other"
}
