package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/mysql"
	"github.com/xvault/xvault/agentd/internal/connector/postgres"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// verify answers "would this snapshot restore?": it streams the artifact
// through the checking reader (sha256, every age chunk, zstd frame and tar
// header) and, for each database dump, loads it into a throwaway database
// on the agent's scratch server and compares the row counts with those
// recorded at dump time (or, without a scratch server, checks the dump is
// complete). The verdict is the job's result; the job fails only when the
// check itself could not run (tenant key, scratch server unreachable).
func (a *Agent) verify(ctx context.Context, l *lease) error {
	j := l.job
	var p sdk.VerifyPayload
	if len(j.Payload) == 0 || json.Unmarshal(j.Payload, &p) != nil || p.SnapshotSHA256 == "" {
		return fmt.Errorf("verify job without its snapshot's sha256 (was the snapshot deleted?): %w", connector.ErrPermanent)
	}
	start := time.Now()
	rep := &sdk.VerifyReport{}
	defer func() {
		rep.Seconds = roundSeconds(time.Since(start))
		rep.FinishedAt = time.Now().UTC()
	}()
	identity, err := a.fetchTenantIdentity(ctx, j)
	if err != nil {
		return err
	}
	env, cleanup, err := a.connectorEnv(ctx, l)
	if err != nil {
		return err
	}
	defer cleanup()
	if len(p.Chain) > 0 {
		return a.verifyChain(ctx, l, p.Chain, identity, rep)
	}
	v := &verifier{a: a, l: l, env: env, loaders: map[string]connector.Loader{}}
	defer v.close()
	w, err := a.openSnapshotWalk(ctx, l, snapshotIDs(j), p.SnapshotSHA256, identity)
	if err == nil {
		err = v.walk(ctx, w, rep)
		rep.Entries, rep.PlainBytes = w.rd.Result().Entries, w.rd.Result().PlainBytes
		w.close()
	}
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("verify interrupted: %w", context.Cause(ctx))
	case errors.Is(err, errArtifactMissing) || errors.Is(err, errDamaged) || (w != nil && w.err != nil):
		if w != nil && w.err != nil {
			err = w.err
		}
		rep.Status, rep.Message = sdk.VerifyCorrupt, err.Error()
	case err != nil:
		return err // the check could not run: no verdict
	default:
		rep.Status, rep.Message = v.verdict(rep)
	}
	l.verifyReport = rep
	return nil
}

type verifier struct {
	a       *Agent
	l       *lease
	env     connector.Env
	loaders map[string]connector.Loader // engine → scratch server; nil value = none configured
}

func (v *verifier) close() {
	for _, ld := range v.loaders {
		if ld != nil {
			_ = ld.Close()
		}
	}
}

// walk reads every entry; database dumps are checked, the rest drained.
func (v *verifier) walk(ctx context.Context, w *snapshotWalk, rep *sdk.VerifyReport) error {
	if w.desc == nil {
		return nil // an old layout: the artifact check is the whole verification
	}
	for {
		hdr, err := w.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		v.l.currentPath.Store(&hdr.Name)
		v.l.filesDone.Add(1)
		if db := w.databaseOf(hdr.Name); db != nil {
			d, err := v.database(ctx, w, db)
			if err != nil {
				return err
			}
			rep.Databases = append(rep.Databases, *d)
			continue
		}
		if _, err := io.Copy(io.Discard, w); err != nil {
			return err
		}
	}
}

// database checks one dump: loaded into a throwaway database of the scratch
// server, else structurally. An error is returned only when the check
// could not run or the artifact broke; a dump that fails to load is a
// finding (OK false).
func (v *verifier) database(ctx context.Context, w *snapshotWalk, db *archive.Database) (*sdk.VerifyDatabase, error) {
	start := time.Now()
	engine := sdk.SourceType(w.desc.SourceType).Engine()
	d := &sdk.VerifyDatabase{Name: db.Name, Engine: engine, Mode: sdk.VerifyModeStructural}
	defer func() { d.Seconds = roundSeconds(time.Since(start)) }()
	ld, err := v.loader(ctx, engine)
	if err != nil {
		return nil, fmt.Errorf("scratch %s server: %w", engine, err)
	}
	if ld == nil {
		err := checkDump(ctx, engine, db.Format, w)
		if w.err != nil {
			return nil, w.err
		}
		d.OK = err == nil
		if err != nil {
			d.Error = err.Error()
		}
		return d, nil
	}
	d.Mode = sdk.VerifyModeLoad
	name, err := throwawayName()
	if err != nil {
		return nil, err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		if err := ld.Drop(dctx, name); err != nil {
			v.l.warnText(fmt.Sprintf("drop throwaway database %s on the scratch server: %v", name, err))
		}
	}()
	res, err := ld.Load(ctx, connector.LoadOptions{Database: name, Format: db.Format, Create: true, Open: onceOpener(w)})
	if w.err != nil {
		return nil, w.err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		d.Error = err.Error()
		return d, nil
	}
	d.Tables, d.OK = compareTables(db.Tables, res.Tables)
	if !d.OK {
		d.Error = "row counts differ from those recorded at dump time"
	}
	return d, nil
}

// loader is the scratch server of engine, connected on first use.
func (v *verifier) loader(ctx context.Context, engine string) (connector.Loader, error) {
	if ld, ok := v.loaders[engine]; ok {
		return ld, nil
	}
	ld, err := v.a.scratchLoader(ctx, engine, v.env)
	if err != nil {
		return nil, err
	}
	v.loaders[engine] = ld
	return ld, nil
}

// verdict sums the databases' findings up.
func (v *verifier) verdict(rep *sdk.VerifyReport) (sdk.VerifyStatus, string) {
	var bad, loaded, structural []string
	for _, d := range rep.Databases {
		switch {
		case !d.OK:
			bad = append(bad, d.Name+": "+d.Error)
		case d.Mode == sdk.VerifyModeLoad:
			loaded = append(loaded, d.Name)
		default:
			structural = append(structural, d.Name)
		}
	}
	if len(bad) > 0 {
		return sdk.VerifyFailed, fmt.Sprintf("artifact intact; %d of %s failed: %s", len(bad),
			databases(len(rep.Databases)), strings.Join(bad, "; "))
	}
	msg := fmt.Sprintf("artifact intact (%d entries, sha256 matches)", rep.Entries)
	if len(loaded) > 0 {
		msg += fmt.Sprintf("; %s loaded into a scratch server with the recorded row counts", databases(len(loaded)))
	}
	if len(structural) > 0 {
		msg += fmt.Sprintf("; %s checked structurally only (complete, trailer present): no scratch server configured",
			databases(len(structural)))
	}
	return sdk.VerifyOK, msg
}

func databases(n int) string {
	if n == 1 {
		return "1 database"
	}
	return fmt.Sprintf("%d databases", n)
}

// compareTables pairs the recorded row counts with the loaded ones.
func compareTables(recorded, loaded []archive.Table) ([]sdk.VerifyTable, bool) {
	got := make(map[string]int64, len(loaded))
	for _, t := range loaded {
		got[t.Name] = t.Rows
	}
	ok := true
	out := make([]sdk.VerifyTable, 0, len(recorded))
	for _, t := range recorded {
		n, found := got[t.Name]
		if !found {
			n = -1 // not there after the load
		}
		ok = ok && n == t.Rows
		out = append(out, sdk.VerifyTable{Name: t.Name, Expected: t.Rows, Loaded: n})
	}
	return out, ok
}

// checkDump checks a dump structurally, without a server.
func checkDump(ctx context.Context, engine, format string, r io.Reader) error {
	switch engine {
	case sdk.EngineMySQL:
		return mysql.CheckDump(r)
	case sdk.EnginePostgres:
		return postgres.CheckDump(ctx, format, r)
	}
	return fmt.Errorf("no check for %s dumps", engine)
}

// onceOpener hands the current entry of w to a loader once; a loader
// needing a second pass fails (verify loads always create the database).
func onceOpener(w *snapshotWalk) func() (io.ReadCloser, error) {
	used := false
	return func() (io.ReadCloser, error) {
		if used {
			return nil, errors.New("the dump can be read once here")
		}
		used = true
		return io.NopCloser(w), nil
	}
}

// throwawayName is a fresh database name for one verification.
func throwawayName() (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "xv_verify_" + hex.EncodeToString(b), nil
}

func roundSeconds(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }

// verifyChain verifies an incremental snapshot: its chain is assembled into
// the whole tree, every artifact read to its end and checked against its
// sha256 (file sources only: a chain holds no database dump).
func (a *Agent) verifyChain(ctx context.Context, l *lease, chain []sdk.ChainLink, id age.Identity, rep *sdk.VerifyReport) error {
	src, err := a.openSource(ctx, l, "", chain, id, nil)
	var entries, plain int64
	if err == nil {
		entries, plain, err = drainSource(l, src)
		_ = src.Close()
	}
	rep.Entries, rep.PlainBytes = entries, plain
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("verify interrupted: %w", context.Cause(ctx))
	case err != nil:
		rep.Status, rep.Message = sdk.VerifyCorrupt, err.Error()
	default:
		rep.Status = sdk.VerifyOK
		rep.Message = fmt.Sprintf("chain of %d artifacts intact (sha256 of each matches); the assembled tree holds %d entries",
			len(chain), entries)
	}
	l.verifyReport = rep
	return nil
}

// drainSource reads every entry of src, counting entries and file bytes.
func drainSource(l *lease, src source) (entries, plain int64, err error) {
	for {
		hdr, err := src.Next()
		if errors.Is(err, io.EOF) {
			return entries, plain, nil
		}
		if err != nil {
			return entries, plain, err
		}
		entries++
		l.currentPath.Store(&hdr.Name)
		l.filesDone.Add(1)
		n, err := io.Copy(io.Discard, src)
		plain += n
		if err != nil {
			return entries, plain, err
		}
	}
}
