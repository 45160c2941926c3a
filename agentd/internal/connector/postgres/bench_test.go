package postgres

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector/connectortest"
	"github.com/xvault/xvault/sdk"
)

// BenchmarkPull dumps a ~100 MB table through the connector (row counts,
// snapshot session, spool) and, for comparison, with a bare
// `pg_dump --format=… > /dev/null`. It reports the dump's MB/s.
func BenchmarkPull(b *testing.B) {
	s := requirePostgres(b)
	db := unique("xvbench_")
	s.createDB(b, db)
	s.mustRun(b, db, "CREATE TABLE big AS SELECT i, md5(i::text) AS a, md5((i+1)::text) AS b, now() AS t FROM generate_series(1, 1000000) i")
	for _, format := range []string{sdk.PostgresFormatPlain, sdk.PostgresFormatCustom} {
		b.Run("connector/"+format, func(b *testing.B) {
			c := newConnector(b, sdk.PostgresConfig{Host: s.host, Port: s.port, Username: pgAdmin, Databases: []string{db}, Format: format},
				nil, testEnv(b))
			var size int64
			for b.Loop() {
				rec := &sizeSink{}
				require.NoError(b, c.Pull(context.Background(), rec))
				size = rec.size
			}
			b.SetBytes(size)
		})
		b.Run("pg_dump/"+format, func(b *testing.B) {
			for b.Loop() {
				cmd := exec.Command("pg_dump", "--format="+format, "--compress=0", "--dbname="+s.conninfo(db))
				cmd.Env = []string{"PATH=/usr/bin:/bin"}
				cmd.Stdout = io.Discard
				require.NoError(b, cmd.Run())
			}
		})
	}
}

// sizeSink counts the bytes of the objects and discards them.
type sizeSink struct {
	connectortest.Recorder
	size int64
}

func (s *sizeSink) PutObject(name string, size int64, _ time.Time, body io.Reader) error {
	n, err := io.Copy(io.Discard, body)
	if err == nil && n != size {
		err = fmt.Errorf("%s: %d bytes, said %d", name, n, size)
	}
	s.size += n
	return err
}
