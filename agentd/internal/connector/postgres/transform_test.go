package postgres

import (
	"bytes"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

const (
	testHead    = "--\n-- PostgreSQL database dump\n--\n\n\\restrict K1\n\nSET standard_conforming_strings = on;\n"
	testTrailer = "\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict K1\n\n"
)

// wrap makes body a complete dump, as pg_dump 15.14 and later write it.
func wrap(body string) string { return testHead + body + testTrailer }

// transformBoth runs the transform with the default read buffer and with
// the smallest one (every long line in pieces); both must agree.
func transformBoth(t *testing.T, in string, opts plainOptions) (string, plainResult, error) {
	t.Helper()
	var big, small bytes.Buffer
	res, err := transformPlain(&big, strings.NewReader(in), opts)
	opts.readSize = 16
	res2, err2 := transformPlain(&small, iotest.OneByteReader(strings.NewReader(in)), opts)
	require.Equal(t, err, err2, "read buffer size changes the outcome")
	if err == nil {
		require.Equal(t, big.String(), small.String(), "read buffer size changes the output")
		require.Equal(t, res, res2)
	}
	return big.String(), res, err
}

func TestTransformPlain(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string // want "" = unchanged
		dropped        int
		keep           bool // KeepOwners: everything stays
	}{
		{name: "owner", in: "ALTER TABLE public.t OWNER TO bob;\n", want: "\n", dropped: 1},
		{name: "owner quoted", in: "ALTER SCHEMA \"My S\" OWNER TO \"we\"\"ird\";\nALTER FUNCTION public.f(a integer) OWNER TO CURRENT_USER;\n",
			want: "\n\n", dropped: 2},
		{name: "large object owner", in: "ALTER LARGE OBJECT 16385 OWNER TO bob;\n", want: "\n", dropped: 1},
		{name: "owner kept", in: "ALTER TABLE public.t OWNER TO bob;\nGRANT SELECT ON TABLE public.t TO bob;\n", keep: true},
		{name: "not an owner statement", in: "ALTER TABLE public.t ADD COLUMN owner integer;\n" +
			"ALTER TABLE \"OWNER TO x\" ALTER COLUMN a SET DEFAULT 'OWNER TO y';\nALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id);\n"},
		{name: "grant revoke", in: "GRANT SELECT ON TABLE public.t TO bob;\nREVOKE ALL ON SCHEMA public FROM PUBLIC;\nGRANT SELECT(a), UPDATE(a)\n  ON TABLE public.t TO bob;\n",
			want: "\n\n\n", dropped: 3},
		{name: "default privileges", in: "ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT SELECT ON TABLES TO bob;\n" +
			"ALTER DEFAULT ROLE x;\n", want: "\nALTER DEFAULT ROLE x;\n", dropped: 1},
		{name: "session authorization", in: "SET SESSION AUTHORIZATION 'bob';\nSET SESSION statement_timeout = 0;\nRESET SESSION AUTHORIZATION;\nSET search_path = x;\n",
			want: "\nSET SESSION statement_timeout = 0;\n\nSET search_path = x;\n", dropped: 2},
		{name: "function body", in: "CREATE FUNCTION public.f() RETURNS void\n    LANGUAGE plpgsql\n    AS $_$\nBEGIN\nGRANT SELECT ON t TO bob; -- '\nEND $_$;\n" +
			"CREATE FUNCTION g() RETURNS text LANGUAGE sql AS $$ SELECT '$_$' $$;\n"},
		{name: "begin atomic", in: "CREATE OR REPLACE FUNCTION public.f() RETURNS integer\n    LANGUAGE sql\n    BEGIN ATOMIC\n SELECT 1;\n" +
			" SELECT CASE WHEN true THEN 1 ELSE 2 END AS \"case\";\nEND;\nGRANT ALL ON FUNCTION public.f() TO bob;\n",
			want: "CREATE OR REPLACE FUNCTION public.f() RETURNS integer\n    LANGUAGE sql\n    BEGIN ATOMIC\n SELECT 1;\n" +
				" SELECT CASE WHEN true THEN 1 ELSE 2 END AS \"case\";\nEND;\n\n", dropped: 1},
		{name: "copy data untouched", in: "COPY public.t (a, \"b c\") FROM stdin;\nGRANT x;\n\\! rm -rf /\nALTER TABLE t OWNER TO x;\n'\n\\.\nGRANT SELECT ON t TO bob;\n",
			want: "COPY public.t (a, \"b c\") FROM stdin;\nGRANT x;\n\\! rm -rf /\nALTER TABLE t OWNER TO x;\n'\n\\.\n\n", dropped: 1},
		{name: "copy to stdout is no copy data", in: "COPY (SELECT 1) TO STDOUT;\nGRANT SELECT ON t TO bob;\n", want: "COPY (SELECT 1) TO STDOUT;\n\n", dropped: 1},
		{name: "strings", in: "SELECT E'\\'GRANT', 'a''b', B'01', U&'d\\0061t', 'a'\n  -- c\n'b;GRANT' ; GRANT x TO y;\n",
			want: "SELECT E'\\'GRANT', 'a''b', B'01', U&'d\\0061t', 'a'\n  -- c\n'b;GRANT' ; \n", dropped: 1},
		{name: "comments", in: "-- GRANT x;\n/* GRANT; /* nested */ ; */ SELECT 1;\n-- \\! not a command\n"},
		{name: "parentheses", in: "CREATE TABLE t (a int CHECK (a > 0); GRANT);\n"},
		{name: "dollar junk and parameters", in: "SELECT $1, $a+1, a$b$ FROM t;\nGRANT a TO b;\n", want: "SELECT $1, $a+1, a$b$ FROM t;\n\n", dropped: 1},
		{name: "operators", in: "SELECT 1 - -1, 2 / 1, 3 -/**/ 1;\nSELECT '-';\n"},
		{name: "standard_conforming_strings off", in: "SET standard_conforming_strings = off;\nSELECT 'a\\';\n\\! id\n';\nSET standard_conforming_strings TO on;\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := tc.want
			if want == "" {
				want = tc.in
			}
			out, res, err := transformBoth(t, wrap(tc.in), plainOptions{keepOwners: tc.keep, restrict: true})
			require.NoError(t, err)
			require.Equal(t, wrap(want), out)
			require.Equal(t, tc.dropped, res.dropped)
			require.Empty(t, res.addedRestrict)
		})
	}
}

func TestTransformPlainRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, in, err string }{
		{"meta-command", wrap("\\! id\n"), `line 8: psql meta-command "\\! id" refused`},
		{"meta-command in a statement", wrap("SELECT 1 \\g\n"), "line 8: psql meta-command refused"},
		{"injected after a comment", wrap("-- Name: x\n\\o /tmp/x\n"), `psql meta-command "\\o /tmp/x" refused`},
		{"after a string", wrap("SELECT 'a\\';\n\\! id\n';\n"), "line 9: psql meta-command"},
		{"bad restrict key", wrap("\\restrict a b\n"), "refused"},
		{"truncated in copy data", testHead + "COPY t (a) FROM stdin;\n1\n2\n", "ends inside the COPY data begun on line 9: it is truncated"},
		{"truncated in a statement", testHead + "CREATE TABLE t (\n  a int", "ends inside the statement begun on line 8"},
		{"truncated in a string", testHead + "SELECT 'abc", "ends inside the statement"},
		{"no trailer", testHead + "SELECT 1;\n", "does not end with pg_dump's completion trailer"},
		{"text after copy", wrap("COPY t FROM stdin; SELECT 1;\n"), "text after a COPY"},
		{"unknown standard_conforming_strings", wrap("SET standard_conforming_strings = 'off';\n"), "cannot follow"},
		{"number then quote", wrap("SELECT 1e'x';\n"), "number directly followed by a quote"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, keep := range []bool{false, true} {
				_, _, err := transformBoth(t, tc.in, plainOptions{keepOwners: keep, restrict: true})
				require.ErrorContains(t, err, tc.err)
			}
		})
	}
}

func TestTransformPlainRestrict(t *testing.T) {
	t.Parallel()
	dump := wrap("SELECT 1;\n")

	out, res, err := transformBoth(t, dump, plainOptions{restrict: true})
	require.NoError(t, err)
	require.Equal(t, dump, out, "a psql that knows \\restrict gets the dump's lines")
	require.False(t, res.droppedRestrict)

	out, res, err = transformBoth(t, dump, plainOptions{restrict: false})
	require.NoError(t, err)
	require.Equal(t, strings.NewReplacer("\\restrict K1\n", "", "\\unrestrict K1\n", "").Replace(dump), out)
	require.True(t, res.droppedRestrict)

	old := "--\n-- PostgreSQL database dump\n--\n\nSET a = 1;\nSELECT 1;\n" + strings.ReplaceAll(testTrailer, "\\unrestrict K1\n", "")
	key := func() string { return "OURS" }
	out, res, err = transformBoth(t, old, plainOptions{restrict: true, restrictKey: key})
	require.NoError(t, err)
	require.Equal(t, "\\restrict OURS\n", res.addedRestrict)
	require.Equal(t, strings.Replace(old, "SET a", "\\restrict OURS\nSET a", 1), out, "a dump without \\restrict runs restricted anyway")

	// Our key in force, the dump's own lines (after a statement) would fail: they go.
	late := "SELECT 0;\n\\restrict K1\nSELECT 1;\n" + testTrailer
	out, _, err = transformBoth(t, late, plainOptions{restrict: true, restrictKey: key})
	require.NoError(t, err)
	require.Equal(t, "\\restrict OURS\nSELECT 0;\nSELECT 1;\n"+strings.ReplaceAll(testTrailer, "\\unrestrict K1\n", ""), out)

	out, _, err = transformBoth(t, "/* c */ SELECT 1;\n"+testTrailer, plainOptions{restrict: true, restrictKey: key})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(out, "/* c */ \n\\restrict OURS\nSELECT 1;\n"), out)
}

// TestTransformPlainReal transforms what this machine's pg_dump writes.
func TestTransformPlainReal(t *testing.T) {
	t.Parallel()
	s := requirePostgres(t)
	db, role := fixtureDB(t, s)
	s.mustRun(t, db, "GRANT SELECT ON orders TO "+ident(role)+"; CREATE FUNCTION atomic_f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;")
	dump := dumpPlain(t, s, db)
	out, res, err := transformBoth(t, dump, plainOptions{restrict: true})
	require.NoError(t, err)
	require.Contains(t, dump, "ALTER TABLE public.empty_table OWNER TO "+role+";\n")
	require.Contains(t, dump, "GRANT SELECT ON TABLE public.orders TO "+role+";\n")
	require.Equal(t, strings.Count(dump, " OWNER TO ")+strings.Count(dump, "\nGRANT "), res.dropped)
	require.NotContains(t, out, "OWNER TO")
	require.NotContains(t, out, "GRANT")
	require.Contains(t, out, "BEGIN ATOMIC")
	require.Equal(t, strings.Count(dump, "\\."), strings.Count(out, "\\."))

	out, res, err = transformBoth(t, dump, plainOptions{restrict: true, keepOwners: true})
	require.NoError(t, err)
	require.Equal(t, dump, out)
	require.Zero(t, res.dropped)
}

// TestTransformPlainBoundedMemory streams a 64 MiB COPY row and a 16 MiB
// ALTER statement: what the transform allocates stays far below. Not
// parallel: it reads the process's allocation counter.
func TestTransformPlainBoundedMemory(t *testing.T) {
	in := io.MultiReader(strings.NewReader(testHead+"COPY t (a) FROM stdin;\n"), &repeatReader{b: []byte("0123456789abcdef"), n: 64 << 20},
		strings.NewReader("\n\\.\nALTER TABLE t ALTER COLUMN a SET DEFAULT '"), &repeatReader{b: []byte("x"), n: 16 << 20},
		strings.NewReader("';\n"+testTrailer))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n := &countWriter{}
	_, err := transformPlain(n, in, plainOptions{restrict: true})
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	require.Greater(t, n.n, int64(80<<20))
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(8<<20), "allocated while streaming 80 MiB")
}

type repeatReader struct {
	b []byte
	n int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n)]
	for i := range p {
		p[i] = r.b[i%len(r.b)]
	}
	r.n -= int64(len(p))
	return len(p), nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

func FuzzTransformPlain(f *testing.F) {
	for _, s := range []string{
		wrap("ALTER TABLE public.t OWNER TO bob;\nGRANT SELECT ON t TO bob;\n"),
		wrap("COPY t (a) FROM stdin;\n1\n\\.\n"),
		wrap("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;\n"),
		wrap("SELECT E'\\'', $a$ $b$ $a$, \"x\"\"y\", 'a'\n'b' /* /* */ */;\n"),
		wrap("SET standard_conforming_strings = off;\nSELECT 'a\\'';\n"),
		"SELECT 1;\n" + testTrailer,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, keep := range []bool{true, false} {
			opts := plainOptions{keepOwners: keep, restrict: true, restrictKey: func() string { return "FUZZ" }}
			out, res, err := transformBoth(t, string(in), opts)
			if err != nil {
				continue
			}
			plain := !bytes.Contains(in, []byte(`\restrict`)) && !bytes.Contains(in, []byte(`\unrestrict`))
			if keep && plain {
				require.Equal(t, string(in), strings.Replace(out, res.addedRestrict, "", 1), "with KeepOwners only our \\restrict line is added")
			}
			require.LessOrEqual(t, len(out), len(in)+len(res.addedRestrict))
		}
	})
}

func BenchmarkTransformPlain(b *testing.B) {
	var copyDump, sqlDump strings.Builder
	copyDump.WriteString(testHead + "COPY public.t (a, b, c) FROM stdin;\n")
	sqlDump.WriteString(testHead)
	for i := range 200000 {
		copyDump.WriteString("12345\tsome text of a row\t2024-01-02 03:04:05+00\n")
		if i%10 == 0 {
			sqlDump.WriteString("CREATE TABLE public.t" + strings.Repeat("x", i%7) + " (a integer, b text DEFAULT 'x''y', c jsonb);\n" +
				"ALTER TABLE public.t OWNER TO bob;\nCREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;\n")
		}
	}
	copyDump.WriteString("\\.\n" + testTrailer)
	sqlDump.WriteString(testTrailer)
	for name, dump := range map[string]string{"copy": copyDump.String(), "sql": sqlDump.String()} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(dump)))
			for b.Loop() {
				if _, err := transformPlain(io.Discard, strings.NewReader(dump), plainOptions{restrict: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
