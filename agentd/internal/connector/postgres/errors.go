package postgres

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/xvault/xvault/agentd/internal/connector"
)

// stderrLines is how many lines of a tool's stderr an error quotes.
const stderrLines = 6

// diagnosis is what a tool's message means: a hint for the operator, and
// whether retrying can help.
type diagnosis struct {
	re        *regexp.Regexp
	hint      string
	permanent bool
}

var diagnoses = []diagnosis{
	{regexp.MustCompile(`password authentication failed`),
		"check the password of the source's credential", true},
	{regexp.MustCompile(`no password supplied`),
		"the server asks for a password and the source's credential has none", true},
	{regexp.MustCompile(`(?s)role ".*" does not exist`),
		"check the source's username", true},
	{regexp.MustCompile(`(?s)database ".*" does not exist`),
		"check the source's database names (xv source test lists them)", true},
	{regexp.MustCompile(`no pg_hba\.conf entry|pg_hba\.conf rejects`),
		"allow this agent's address for this user and database in the server's pg_hba.conf", true},
	{regexp.MustCompile(`permission denied|must be superuser|must be owner`),
		"grant the privilege named above to the source's user (xv source test lists what is missing)", true},
	{regexp.MustCompile(`row-level security`),
		"the source's user needs BYPASSRLS, or to own the table, to dump all its rows", true},
	{regexp.MustCompile(`server does not support SSL|SSL is not enabled`),
		"enable SSL on the server, or set the source's sslmode to prefer", true},
	{regexp.MustCompile(`certificate verify failed|does not match host name|root certificate file`),
		"the server's certificate did not verify; check its name and CA, or lower the source's sslmode", true},
	{regexp.MustCompile(`server version: .*; pg_dump version:|aborting because of server version mismatch`),
		"install a client at least as new as the server on the agent", true},
}

// toolError describes a failed client program: what it was doing, how it
// ended, the first lines of its stderr and a hint. Errors retrying cannot
// fix (authentication, unknown database, privileges) wrap
// connector.ErrPermanent.
func (s *session) toolError(ctx context.Context, what string, err error, stderr string) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", what, context.Cause(ctx))
	}
	msg := firstLines(redact(stderr, s.c.password), stderrLines)
	if msg == "" {
		msg = "no message"
	}
	e := fmt.Errorf("%s: %v: %s", what, err, msg)
	if terr := s.tunnelErr(); terr != nil {
		e = fmt.Errorf("%w (%v)", e, terr)
	}
	for _, d := range diagnoses {
		if !d.re.MatchString(stderr) {
			continue
		}
		if d.permanent {
			return fmt.Errorf("%w (hint: %s): %w", e, d.hint, connector.ErrPermanent)
		}
		return fmt.Errorf("%w (hint: %s)", e, d.hint)
	}
	return e
}

// databaseMissing reports whether a tool said the database does not exist.
func databaseMissing(stderr string) bool {
	return strings.Contains(stderr, "does not exist") && strings.Contains(stderr, "database \"")
}
