//go:build xvbench

package main

// The database row (-modes database): one MariaDB database of about -db-size,
// created for the run and dropped after it, dumped by xVault's real mysql
// connector into a real artifact (the hotpath/dbchild child, measured alone)
// and by the baseline pipeline
// `mariadb-dump … DB | zstd -3 -T0 | age -r R > out`. Server CPU is the
// CPU time mariadbd used during the run.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"filippo.io/age"

	"github.com/xvault/xvault/internal/bench/hotpath"
	"github.com/xvault/xvault/sdk/archive"
)

const dbHost, dbPort = "127.0.0.1", 3306

// dumpTrailer ends every complete mysqldump/mariadb-dump output.
const dumpTrailer = "-- Dump completed"

// runAll runs the file-tree modes (if any) and then the database row (if asked).
func runAll(ctx context.Context, o options, stdout, log io.Writer) error {
	var files []string
	db := false
	for _, m := range strings.Split(o.modes, ",") {
		if m = strings.TrimSpace(m); m == "database" {
			db = true
		} else if m != "" {
			files = append(files, m)
		}
	}
	if len(files) > 0 {
		fo := o
		fo.modes = strings.Join(files, ",")
		if err := run(ctx, fo, stdout, log); err != nil {
			return err
		}
	}
	if db {
		return runDatabase(ctx, o, stdout, log)
	}
	return nil
}

// dbEnv is what the database modes need.
type dbEnv struct {
	work, child, tool string
	name, user, pw    string
	defaults          string // 0600 option file of the baseline's client
	identity          *age.X25519Identity
	server            *serverMeter
}

func runDatabase(ctx context.Context, o options, stdout, log io.Writer) error {
	e, cleanup, err := dbSetup(ctx, o.work)
	if err != nil {
		return err
	}
	defer cleanup()
	fmt.Fprintf(log, "database: filling %s to about %s of dump ...\n", e.name, mib(o.dbSize))
	start := time.Now()
	if err := rootSQL(ctx, e.name, fillScript(o.dbSize)); err != nil {
		return fmt.Errorf("fill database: %w", err)
	}
	stats, err := tableStats(ctx, e.name)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "database: filled in %.0fs: %s\n", time.Since(start).Seconds(), stats)
	facts := gatherFacts()
	all := map[string][]sample{}
	var notes []string
	var dumpBytes int64
	for r := range o.runs {
		for _, mode := range []string{"xVault mysql", "baseline mariadb-dump"} {
			fmt.Fprintf(log, "run %d/%d: %s (load %s) ...\n", r+1, o.runs, mode, loadAverage())
			var s sample
			var n int64
			if mode == "xVault mysql" {
				s, n, err = runDBXVault(ctx, e, r, r == 0)
			} else {
				s, n, err = runDBBaseline(ctx, e, r == 0)
			}
			if err != nil {
				return err
			}
			dumpBytes = max(dumpBytes, n)
			fmt.Fprintf(log, "  %.1fs wall, CPU: %.1fs client, %.1fs server, %.1fs machine\n",
				s.use.Wall.Seconds(), s.use.ClientCPU, s.use.ServerCPU, s.use.MachineCPU)
			all[mode] = append(all[mode], s)
			if r == 0 && s.detail != "" {
				notes = append(notes, s.mode+" (first run): "+s.detail)
			}
		}
	}
	samples := []sample{median(all["xVault mysql"]), median(all["baseline mariadb-dump"])}
	printDBReport(stdout, facts, e, stats, dumpBytes, samples, o.runs)
	for _, n := range notes {
		fmt.Fprintln(stdout, n)
	}
	return nil
}

// dbSetup checks the tools, builds the child, makes an age identity and
// creates the database and its dedicated account (both dropped by cleanup).
func dbSetup(ctx context.Context, work string) (*dbEnv, func(), error) {
	e := &dbEnv{}
	for _, t := range []string{"mariadb-dump", "mysqldump"} {
		if _, err := exec.LookPath(t); err == nil {
			e.tool = t
			break
		}
	}
	for _, t := range []string{"mysql", "zstd", "age", "go"} {
		if _, err := exec.LookPath(t); err != nil || e.tool == "" {
			return nil, nil, errors.New("database mode needs mysql, mariadb-dump (or mysqldump), zstd, age and go (hint: apt-get install -y mariadb-client zstd age)")
		}
	}
	var err error
	if work, err = filepath.Abs(filepath.Join(work, "database")); err != nil {
		return nil, nil, err
	}
	if err := os.RemoveAll(work); err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(work, 0o700); err != nil {
		return nil, nil, err
	}
	e.work, e.child = work, filepath.Join(work, "xvbenchdbchild")
	if err := buildDBChild(ctx, e.child); err != nil {
		return nil, nil, err
	}
	if e.identity, err = newIdentity(); err != nil {
		return nil, nil, err
	}
	suffix := randomHex(6)
	e.name, e.user, e.pw = "xvbench_"+suffix, "xvbench_"+suffix, randomHex(16)
	e.defaults = filepath.Join(work, "client.cnf")
	cnf := fmt.Sprintf("[client]\nuser=%s\npassword=%s\n", e.user, e.pw)
	if err := os.WriteFile(e.defaults, []byte(cnf), 0o600); err != nil {
		return nil, nil, err
	}
	create := fmt.Sprintf("CREATE DATABASE `%[1]s`; CREATE USER '%[2]s'@'%%' IDENTIFIED BY '%[3]s';"+
		" GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON `%[1]s`.* TO '%[2]s'@'%%';"+
		" GRANT SELECT ON mysql.* TO '%[2]s'@'%%';", e.name, e.user, e.pw)
	cleanup := func() {
		drop := fmt.Sprintf("DROP DATABASE IF EXISTS `%s`; DROP USER IF EXISTS '%s'@'%%';", e.name, e.user)
		if err := rootSQL(context.Background(), "", drop); err != nil {
			fmt.Fprintln(os.Stderr, "bench: drop the database:", err)
		}
		_ = os.RemoveAll(work)
	}
	if err := rootSQL(ctx, "", create); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("create database (hint: MariaDB on %s:%d, root without password): %w", dbHost, dbPort, err)
	}
	e.server = mariadbMeter()
	return e, cleanup, nil
}

// rootSQL runs script with the mysql client as root (in database db, if set).
// The script goes through stdin; it holds the bench account's password, argv does not.
func rootSQL(ctx context.Context, db, script string) error {
	args := []string{"--no-defaults", "-uroot", "-h" + dbHost, "-P" + strconv.Itoa(dbPort), "--batch"}
	if db != "" {
		args = append(args, db)
	}
	cmd := exec.CommandContext(ctx, "mysql", args...)
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("mysql: %w: %.2000s", err, out)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// dbTable is one table of the generated database: dumpRow is the approximate
// bytes a row takes in the dump, share its part of the dump's size.
type dbTable struct {
	name, ddl, cols, gen string
	dumpRow              int64
	share                float64
}

var dbTables = []dbTable{
	{name: "orders", dumpRow: 130, share: 0.45,
		ddl: "id BIGINT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL, amount DECIMAL(12,2) NOT NULL, " +
			"status VARCHAR(16) NOT NULL, email VARCHAR(100) NOT NULL, note VARCHAR(255) NOT NULL, created_at DATETIME NOT NULL, KEY (customer_id)",
		cols: "customer_id, amount, status, email, note, created_at",
		gen: "FLOOR(RAND()*100000), ROUND(RAND()*1000, 2), ELT(1+FLOOR(RAND()*4), 'pending', 'paid', 'shipped', 'refunded'), " +
			"CONCAT('customer', FLOOR(RAND()*100000), '@example.com'), ELT(1+FLOOR(RAND()*5), " +
			"'Please leave the parcel at the back door if nobody answers the bell.', 'Gift wrap, no invoice in the box.', '', " +
			"'Call before delivery: the doorbell is broken.', 'Express shipping requested by phone.'), " +
			"NOW() - INTERVAL FLOOR(RAND()*100000000) SECOND"},
	{name: "events", dumpRow: 230, share: 0.35,
		ddl:  "id BIGINT AUTO_INCREMENT PRIMARY KEY, order_id BIGINT NOT NULL, kind VARCHAR(32) NOT NULL, payload TEXT NOT NULL",
		cols: "order_id, kind, payload",
		gen: "FLOOR(RAND()*3000000), ELT(1+FLOOR(RAND()*3), 'page_view', 'add_to_cart', 'checkout'), " +
			"CONCAT('{\"session\":\"', MD5(RAND()), '\",\"path\":\"/shop/product/', FLOOR(RAND()*5000), " +
			"'\",\"ua\":\"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36\",\"ms\":', " +
			"FLOOR(RAND()*2000), '}')"},
	{name: "attachments", dumpRow: 8230, share: 0.20,
		ddl:  "id BIGINT AUTO_INCREMENT PRIMARY KEY, filename VARCHAR(64) NOT NULL, data BLOB NOT NULL",
		cols: "filename, data",
		gen: "CONCAT('scan-', FLOOR(RAND()*1000000), '.bin'), " +
			"CONCAT(RANDOM_BYTES(1024), RANDOM_BYTES(1024), RANDOM_BYTES(1024), RANDOM_BYTES(1024))"},
}

// fillScript creates the tables and fills them, by doubling with
// INSERT … SELECT, to about size bytes of dump.
func fillScript(size int64) string {
	var b strings.Builder
	for _, t := range dbTables {
		want := max(1, int64(float64(size)*t.share)/t.dumpRow)
		fmt.Fprintf(&b, "CREATE TABLE %s (%s) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n", t.name, t.ddl)
		fmt.Fprintf(&b, "INSERT INTO %s (%s) SELECT %s;\n", t.name, t.cols, t.gen)
		n := int64(1)
		for ; n*2 <= want; n *= 2 {
			fmt.Fprintf(&b, "INSERT INTO %s (%s) SELECT %s FROM %s;\n", t.name, t.cols, t.gen, t.name)
		}
		if n < want {
			fmt.Fprintf(&b, "INSERT INTO %s (%s) SELECT %s FROM %s LIMIT %d;\n", t.name, t.cols, t.gen, t.name, want-n)
		}
		fmt.Fprintf(&b, "ANALYZE TABLE %s;\n", t.name)
	}
	return b.String()
}

// tableStats describes the tables: rows (exact) and InnoDB size.
func tableStats(ctx context.Context, db string) (string, error) {
	var parts []string
	var total int64
	for _, t := range dbTables {
		q := fmt.Sprintf("SELECT COUNT(*), (SELECT DATA_LENGTH+INDEX_LENGTH FROM information_schema.TABLES "+
			"WHERE TABLE_SCHEMA='%s' AND TABLE_NAME='%s') FROM `%s`.%s", db, t.name, db, t.name)
		out, err := exec.CommandContext(ctx, "mysql", "--no-defaults", "-uroot", "-h"+dbHost, "-P"+strconv.Itoa(dbPort), "-N", "-e", q).Output()
		f := strings.Fields(string(out))
		if err != nil || len(f) != 2 {
			return "", fmt.Errorf("table stats of %s: %v %q", t.name, err, out)
		}
		n, _ := strconv.ParseInt(f[1], 10, 64)
		total += n
		parts = append(parts, fmt.Sprintf("%s %s rows", t.name, f[0]))
	}
	return fmt.Sprintf("%s; InnoDB %s", strings.Join(parts, ", "), mib(total)), nil
}

// buildDBChild builds hotpath/dbchild like buildChild builds the file child.
func buildDBChild(ctx context.Context, dst string) error {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("find module root (hint: run from the xVault checkout): %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	virtual := filepath.Join(root, filepath.FromSlash(hotpath.DBOverlayDir), "main.go")
	src := filepath.Join(root, "internal", "bench", "hotpath", "dbchild", "main.go")
	overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {virtual: src}})
	overlayFile := dst + ".overlay.json"
	if err := os.WriteFile(overlayFile, overlay, 0o600); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", hotpath.BuildTag, "-overlay", overlayFile, "-o", dst, "./"+hotpath.DBOverlayDir)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the xVault database child: %w\n%s", err, msg)
	}
	return nil
}

// mariadbMeter measures the CPU time of the running mariadbd (utime+stime).
func mariadbMeter() *serverMeter {
	m := &serverMeter{Method: "not measured (mariadbd's pid not found)", usage: func() (float64, error) { return 0, nil }}
	data, err := os.ReadFile("/run/mysqld/mysqld.pid")
	pid, perr := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || perr != nil {
		return m
	}
	if _, err := procCPU(pid); err != nil {
		return m
	}
	m.pid, m.Method = pid, fmt.Sprintf("mariadbd's utime+stime (/proc/%d/stat)", pid)
	m.usage = func() (float64, error) { return procCPU(pid) }
	return m
}

func procCPU(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // f[0] is field 3
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64) // field 14 utime
	k, err2 := strconv.ParseUint(f[12], 10, 64) // field 15 stime
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return float64(u+k) / clockTicks, nil
}

// runDBXVault dumps the database with the child; with verify, the artifact
// is read back with the identity (sha256, every entry, the dump's trailer).
// It returns the sample and the size of the plain dump.
func runDBXVault(ctx context.Context, e *dbEnv, r int, verify bool) (sample, int64, error) {
	out := filepath.Join(e.work, fmt.Sprintf("xvault-%d.tar.zst.age", r))
	tmp := filepath.Join(e.work, fmt.Sprintf("tmp-%d", r))
	defer os.Remove(out)
	defer os.RemoveAll(tmp)
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return sample{}, 0, err
	}
	spec := hotpath.DBSpec{Host: dbHost, Port: dbPort, User: e.user, Password: e.pw, Database: e.name,
		Recipient: e.identity.Recipient().String(), Out: out, TempDir: tmp}
	in, _ := json.Marshal(spec)
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, e.child)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), &stdout, os.Stderr
	use, err := measure(cmd, e.server)
	if err != nil {
		return sample{}, 0, fmt.Errorf("xVault mysql: child: %w", err)
	}
	var res hotpath.DBResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return sample{}, 0, fmt.Errorf("xVault mysql: child result: %w", err)
	}
	s := sample{mode: "xVault mysql", use: use, outBytes: res.Artifact.StoredBytes,
		detail: fmt.Sprintf("%d entries, %d warnings", res.Artifact.Entries, res.Warnings)}
	if !verify {
		return s, 0, nil
	}
	n, err := verifyDBArtifact(ctx, out, e, res.Artifact.SHA256)
	if err != nil {
		return s, 0, err
	}
	s.detail += fmt.Sprintf(", artifact verified (archive.NewReader with the identity and sha256; databases/%s.sql %s ends with %q)", e.name, mib(n), dumpTrailer)
	return s, n, nil
}

func verifyDBArtifact(ctx context.Context, name string, e *dbEnv, sha string) (int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	rd, err := archive.NewReader(f, e.identity, archive.ReadOptions{ExpectedSHA256: sha})
	if err != nil {
		return 0, fmt.Errorf("verify xVault artifact: %w", err)
	}
	defer rd.Close()
	var names []string
	var dump int64
	for {
		h, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return 0, fmt.Errorf("verify xVault artifact: %w", err)
		}
		names = append(names, h.Name)
		if h.Name == archive.DatabaseEntry(e.name, "sql") {
			if dump, err = checkTrailer(ctx, rd); err != nil {
				return 0, fmt.Errorf("verify xVault artifact: %s: %w", h.Name, err)
			}
		}
	}
	if len(names) == 0 || names[0] != archive.DescriptorName || dump == 0 {
		return 0, fmt.Errorf("verify xVault artifact: entries %q: want %s first and %s", names, archive.DescriptorName, archive.DatabaseEntry(e.name, "sql"))
	}
	return dump, nil
}

// checkTrailer reads r to its end and checks the dump's completion trailer.
func checkTrailer(ctx context.Context, r io.Reader) (int64, error) {
	var n int64
	tail := make([]byte, 0, 512)
	buf := make([]byte, 1<<20)
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		k, err := r.Read(buf)
		n += int64(k)
		tail = append(tail, buf[:k]...)
		if len(tail) > 256 {
			tail = slices.Clone(tail[len(tail)-256:])
		}
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return n, err
		}
	}
	if !bytes.Contains(tail, []byte(dumpTrailer)) {
		return n, fmt.Errorf("no %q trailer at the end of the dump (%d bytes)", dumpTrailer, n)
	}
	return n, nil
}

// dumpFlags are the baseline's options: the connector's, as the issue lists them.
var dumpFlags = []string{"--single-transaction", "--routines", "--triggers", "--events", "--hex-blob",
	"--default-character-set=utf8mb4", "--no-tablespaces"}

func runDBBaseline(ctx context.Context, e *dbEnv, verify bool) (sample, int64, error) {
	out := filepath.Join(e.work, "baseline.sql.zst.age")
	defer os.Remove(out)
	script := fmt.Sprintf("%s --defaults-file=%s %s -h%s -P%d %s | zstd -3 -T0 -q | age -r %s > %s",
		e.tool, shellQuote(e.defaults), strings.Join(dumpFlags, " "), dbHost, dbPort, e.name, e.identity.Recipient(), shellQuote(out))
	cmd := exec.CommandContext(ctx, "sh", "-c", script)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	use, err := measure(cmd, e.server)
	if err != nil {
		return sample{}, 0, fmt.Errorf("baseline pipeline: %w", err)
	}
	st, err := os.Stat(out)
	if err != nil {
		return sample{}, 0, fmt.Errorf("baseline output: %w", err)
	}
	s := sample{mode: "baseline " + e.tool, use: use, outBytes: st.Size()}
	if !verify {
		return s, 0, nil
	}
	idFile := filepath.Join(e.work, "identity.txt")
	if err := os.WriteFile(idFile, []byte(e.identity.String()+"\n"), 0o600); err != nil {
		return s, 0, err
	}
	dec := exec.CommandContext(ctx, "sh", "-c", fmt.Sprintf("age -d -i %s %s | zstd -d -q", shellQuote(idFile), shellQuote(out)))
	pipe, err := dec.StdoutPipe()
	if err != nil {
		return s, 0, err
	}
	dec.Stderr = os.Stderr
	if err := dec.Start(); err != nil {
		return s, 0, err
	}
	n, terr := checkTrailer(ctx, pipe)
	if err := errors.Join(terr, dec.Wait()); err != nil {
		return s, 0, fmt.Errorf("verify baseline output: %w", err)
	}
	s.detail = fmt.Sprintf("output verified with age -d | zstd -d: %s of dump ending with %q", mib(n), dumpTrailer)
	return s, n, nil
}

// printDBReport writes the database table in printReport's style; MB/s is
// the plain dump's size over the wall time.
func printDBReport(w io.Writer, f machineFacts, e *dbEnv, stats string, dump int64, samples []sample, runs int) {
	fmt.Fprintf(w, "\nMachine: %d CPUs, %s, %s RAM, Linux %s, %s; %s; %s\n",
		f.CPUs, f.CPUModel, f.MemTotal, f.Kernel, f.Go, firstLine(exec.Command(e.tool, "--version")), f.Tools)
	fmt.Fprintf(w, "Load average at start: %s\n", f.LoadStart)
	fmt.Fprintf(w, "Server CPU measured with: %s\n", e.server.Method)
	fmt.Fprintf(w, "Database: %s; plain dump %s; median of %d run(s) per mode\n\n", stats, mib(dump), runs)
	base := samples[len(samples)-1]
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| mode\t wall s\t MB/s\t client CPU s\t server CPU s\t machine CPU s\t peak RSS MiB\t output MiB\t vs baseline\t load before\t")
	fmt.Fprintln(tw, "|---\t---:\t---:\t---:\t---:\t---:\t---:\t---:\t---:\t---\t")
	for _, s := range samples {
		secs := s.use.Wall.Seconds()
		fmt.Fprintf(tw, "| %s\t %.1f\t %.0f\t %.1f\t %.1f\t %.1f\t %.0f\t %.0f\t %.2f×\t %s\t\n",
			s.mode, secs, float64(dump)/secs/1e6, s.use.ClientCPU, s.use.ServerCPU, s.use.MachineCPU,
			float64(s.use.MaxRSSKiB)/1024, float64(s.outBytes)/(1<<20), base.use.Wall.Seconds()/secs, s.use.LoadBefore)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
}
