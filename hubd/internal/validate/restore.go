package validate

import (
	"fmt"
	"regexp"

	"github.com/xvault/xvault/sdk"
)

var tablePrefixRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,20}$`)

// maxRestoreDatabases bounds the databases one restore may name.
const maxRestoreDatabases = 1000

// DatabaseRestore checks the options of a restore into a database of the
// given engine, from a snapshot of a source of type from.
func DatabaseRestore(engine string, from sdk.SourceType, o *sdk.DatabaseRestoreOptions) Fields {
	f := Fields{}
	problem, reserved := mysqlDatabaseProblem, mysqlReserved
	if engine == sdk.EnginePostgres {
		problem, reserved = postgresDatabaseProblem, postgresReserved
	}
	if len(o.Databases) > maxRestoreDatabases {
		f.Add("databases", fmt.Sprintf("must list at most %d databases", maxRestoreDatabases))
	}
	seen := map[string]bool{}
	for _, db := range o.Databases {
		if p := problem(db); p != "" {
			f.Add("databases", fmt.Sprintf("%q %s", db, p))
		} else if seen[db] {
			f.Add("databases", fmt.Sprintf("%q is listed twice", db))
		}
		seen[db] = true
	}
	if o.As != "" {
		if p := problem(o.As) + reserved(o.As); p != "" {
			f.Add("as", fmt.Sprintf("%q %s", o.As, p))
		}
		if len(o.Databases) > 1 {
			f.Add("as", "renames one database: name exactly one with databases (--database)")
		}
	}
	if o.KeepOwners && engine != sdk.EnginePostgres {
		f.Add("keep_owners", "applies to PostgreSQL restores only")
	}
	if o.TablePrefix != "" {
		if from != sdk.SourceWordPress {
			f.Add("table_prefix", "applies to snapshots of WordPress sources only")
		} else if !tablePrefixRE.MatchString(o.TablePrefix) {
			f.Add("table_prefix", "must be 1-20 letters, digits or underscores")
		}
	}
	return f
}
