package sftp

import (
	"context"
	"fmt"
	"path"

	pkgsftp "github.com/pkg/sftp"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/sdk"
)

var _ connector.Tester = (*Connector)(nil)

// testListLimit is how many entries of each configured directory a test lists.
const testListLimit = 10

// Test connects and authenticates, reports the transfer a backup would use,
// and stats and lists each configured path over SFTP. It changes nothing.
func (c *Connector) Test(ctx context.Context) (*sdk.TestReport, error) {
	rep := &sdk.TestReport{OK: true}
	fail := func(name string, err error) {
		rep.OK = false
		rep.Checks = append(rep.Checks, sdk.TestCheck{Name: name, OK: false, Detail: err.Error()})
	}
	client, err := c.dialer.Dial(ctx)
	if err != nil {
		fail("connect and authenticate "+c.addr(), err)
		return rep, nil
	}
	defer client.Close()
	rep.Server = string(client.ServerVersion())
	rep.Checks = append(rep.Checks, sdk.TestCheck{Name: "connect and authenticate " + c.addr(), OK: true})
	mode, _, err := c.chooseTransfer(ctx, client)
	if err != nil {
		fail("transfer "+c.cfg.Transfer, err)
	} else {
		rep.Checks = append(rep.Checks, sdk.TestCheck{Name: "transfer", OK: true, Detail: mode})
	}
	sc, err := pkgsftp.NewClient(client)
	if err != nil {
		fail("sftp subsystem", err)
		return rep, nil
	}
	defer sc.Close()
	for _, p := range c.cfg.Paths {
		fi, err := sc.Lstat(p)
		if err != nil {
			fail("read "+p, err)
			continue
		}
		rep.Items = append(rep.Items, connector.TestItem(p, fi.Mode(), fi.Size()))
		if !fi.IsDir() {
			rep.Checks = append(rep.Checks, sdk.TestCheck{Name: "read " + p, OK: true})
			continue
		}
		entries, err := sc.ReadDir(p)
		if err != nil {
			fail("list "+p, err)
			continue
		}
		rep.Checks = append(rep.Checks, sdk.TestCheck{Name: "list " + p, OK: true, Detail: fmt.Sprintf("%d entries", len(entries))})
		for _, e := range entries[:min(len(entries), testListLimit)] {
			rep.Items = append(rep.Items, connector.TestItem(path.Join(p, e.Name()), e.Mode(), e.Size()))
		}
	}
	return rep, nil
}
