package mysql

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
)

const endLine = "-- Dump completed on 2026-01-01 00:00:00\n"

func runTransform(t testing.TB, in string, prefix *connector.PrefixRename) (string, *transform, error) {
	t.Helper()
	tr := newTransform(prefix)
	var out bytes.Buffer
	err := tr.run(&out, strings.NewReader(in))
	return out.String(), tr, err
}

func TestTransformRewrites(t *testing.T) {
	t.Parallel()
	wp := &connector.PrefixRename{From: "wp_", To: "new_"}
	for _, tc := range []struct {
		name, in, want string
		prefix         *connector.PrefixRename
		warn           []string
	}{{
		name: "sandbox line dropped, line count kept",
		in:   "/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump\nSELECT 1;\n",
		want: "\n-- MariaDB dump\nSELECT 1;\n",
	}, {
		name: "sandbox text elsewhere stays",
		in:   "SELECT 1;\n/*M!999999\\- enable the sandbox mode */\n",
		want: "SELECT 1;\n/*M!999999\\- enable the sandbox mode */\n",
	}, {
		name: "view definer (MariaDB and MySQL)",
		in:   "/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER=`root`@`otherhost` SQL SECURITY DEFINER */\n/*!50001 VIEW `v` AS select 1 AS `1` */;\n",
		want: "/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER=CURRENT_USER SQL SECURITY DEFINER */\n/*!50001 VIEW `v` AS select 1 AS `1` */;\n",
		warn: []string{"1 DEFINER clause rewritten to CURRENT_USER"},
	}, {
		name: "trigger and event",
		in: "DELIMITER ;;\n/*!50003 CREATE*/ /*!50017 DEFINER=`ro``ot`@`h-1.example`*/ /*!50003 TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.s = 'DEFINER=`x`@`y`' */;;\n" +
			"/*!50106 CREATE*/ /*!50117 DEFINER=`root`@`%`*/ /*!50106 EVENT `e` ON SCHEDULE EVERY 1 DAY DO SELECT 1 */ ;;\nDELIMITER ;\n",
		want: "DELIMITER ;;\n/*!50003 CREATE*/ /*!50017 DEFINER=CURRENT_USER*/ /*!50003 TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.s = 'DEFINER=`x`@`y`' */;;\n" +
			"/*!50106 CREATE*/ /*!50117 DEFINER=CURRENT_USER*/ /*!50106 EVENT `e` ON SCHEDULE EVERY 1 DAY DO SELECT 1 */ ;;\nDELIMITER ;\n",
		warn: []string{"2 DEFINER clauses rewritten to CURRENT_USER"},
	}, {
		name: "routines, other quotings",
		in: "DELIMITER ;;\nCREATE DEFINER=`root`@`localhost` PROCEDURE `p`()\nBEGIN\nSELECT 'CREATE DEFINER=`a`@`b`';\nEND ;;\n" +
			"CREATE DEFINER = 'admin'@'10.0.0.%' FUNCTION f() RETURNS INT RETURN 1;;\n" +
			"CREATE DEFINER=admin@192.168.1.1 FUNCTION g() RETURNS INT RETURN 1;;\n" +
			"CREATE DEFINER=\"u\"@\"h\" FUNCTION h() RETURNS INT RETURN 1;;\n" +
			"CREATE DEFINER=CURRENT_USER() FUNCTION i() RETURNS INT RETURN 1;;\nDELIMITER ;\n",
		want: "DELIMITER ;;\nCREATE DEFINER=CURRENT_USER PROCEDURE `p`()\nBEGIN\nSELECT 'CREATE DEFINER=`a`@`b`';\nEND ;;\n" +
			"CREATE DEFINER=CURRENT_USER FUNCTION f() RETURNS INT RETURN 1;;\n" +
			"CREATE DEFINER=CURRENT_USER FUNCTION g() RETURNS INT RETURN 1;;\n" +
			"CREATE DEFINER=CURRENT_USER FUNCTION h() RETURNS INT RETURN 1;;\n" +
			"CREATE DEFINER=CURRENT_USER() FUNCTION i() RETURNS INT RETURN 1;;\nDELIMITER ;\n",
		warn: []string{"4 DEFINER clauses rewritten to CURRENT_USER"},
	}, {
		name: "data is never rewritten, in either INSERT layout",
		in: "INSERT INTO `t` VALUES (1,'DEFINER=`root`@`x`'),(2,'USE x;');\n" +
			"INSERT INTO `t` VALUES\n(1,'x'),\n(2,'CREATE DEFINER=`a`@`b`');\n" +
			"INSERT INTO `t` VALUES\n(3,';'),\n(4,'\\nUSE other;\\n');\nSELECT 1;\n",
		want: "INSERT INTO `t` VALUES (1,'DEFINER=`root`@`x`'),(2,'USE x;');\n" +
			"INSERT INTO `t` VALUES\n(1,'x'),\n(2,'CREATE DEFINER=`a`@`b`');\n" +
			"INSERT INTO `t` VALUES\n(3,';'),\n(4,'\\nUSE other;\\n');\nSELECT 1;\n",
	}, {
		name: "MySQL GTID statements dropped, lines kept",
		in: "SET @MYSQLDUMP_TEMP_LOG_BIN = @@SESSION.SQL_LOG_BIN;\nSET @@SESSION.SQL_LOG_BIN= 0;\n\n-- GTID state\n\n" +
			"SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ '3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5,\n4E11FA47-71CA-11E1-9E33-C80AA9429562:1-9';\n" +
			"CREATE TABLE `t` (id int);\nSET @@SESSION.SQL_LOG_BIN = @MYSQLDUMP_TEMP_LOG_BIN;\n",
		want: "SET @MYSQLDUMP_TEMP_LOG_BIN = @@SESSION.SQL_LOG_BIN;\n\n\n-- GTID state\n\n\n\nCREATE TABLE `t` (id int);\n\n",
		warn: []string{"GTID_PURGED statement dropped", "2 SQL_LOG_BIN statements dropped"},
	}, {
		name: "MariaDB gtid_slave_pos dropped",
		in:   "SET GLOBAL gtid_slave_pos='0-1-100';\nCREATE TABLE `t` (id int);\n",
		want: "\nCREATE TABLE `t` (id int);\n",
		warn: []string{"gtid_slave_pos statement dropped"},
	}, {
		name:   "table prefix in headers, views, foreign keys and trigger tables",
		prefix: wp,
		in: "DROP TABLE IF EXISTS `wp_posts`;\nCREATE TABLE `wp_posts` (\n  `ID` int,\n  `wp_note` int,\n" +
			"  CONSTRAINT `wp_fk` FOREIGN KEY (`ID`) REFERENCES `wp_users` (`ID`)\n) ENGINE=InnoDB COMMENT='wp_x';\n" +
			"CREATE TABLE IF NOT EXISTS `wp_a` (id int);\n" +
			"LOCK TABLES `wp_posts` WRITE;\n/*!40000 ALTER TABLE `wp_posts` DISABLE KEYS */;\n" +
			"INSERT INTO `wp_posts` VALUES (1,'INSERT INTO `wp_posts`');\nREPLACE INTO `wp_users` VALUES\n(1);\n" +
			"INSERT INTO `other` VALUES (1);\nUNLOCK TABLES;\n" +
			"/*!50001 DROP VIEW IF EXISTS `wp_v`*/;\n/*!50001 VIEW `wp_v` AS select `wp_posts`.`ID` AS `ID` from `wp_posts` */;\n" +
			"DELIMITER ;;\n/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`x`*/ /*!50003 TRIGGER `t1` AFTER INSERT ON wp_posts FOR EACH ROW INSERT INTO wp_log VALUES (1) */;;\nDELIMITER ;\n",
		want: "DROP TABLE IF EXISTS `new_posts`;\nCREATE TABLE `new_posts` (\n  `ID` int,\n  `wp_note` int,\n" +
			"  CONSTRAINT `wp_fk` FOREIGN KEY (`ID`) REFERENCES `new_users` (`ID`)\n) ENGINE=InnoDB COMMENT='wp_x';\n" +
			"CREATE TABLE IF NOT EXISTS `new_a` (id int);\n" +
			"LOCK TABLES `new_posts` WRITE;\n/*!40000 ALTER TABLE `new_posts` DISABLE KEYS */;\n" +
			"INSERT INTO `new_posts` VALUES (1,'INSERT INTO `wp_posts`');\nREPLACE INTO `new_users` VALUES\n(1);\n" +
			"INSERT INTO `other` VALUES (1);\nUNLOCK TABLES;\n" +
			"/*!50001 DROP VIEW IF EXISTS `new_v`*/;\n/*!50001 VIEW `new_v` AS select `new_posts`.`ID` AS `ID` from `new_posts` */;\n" +
			"DELIMITER ;;\n/*!50003 CREATE*/ /*!50017 DEFINER=CURRENT_USER*/ /*!50003 TRIGGER `t1` AFTER INSERT ON `new_posts` FOR EACH ROW INSERT INTO wp_log VALUES (1) */;;\nDELIMITER ;\n",
		warn: []string{"1 DEFINER clause rewritten to CURRENT_USER", "table prefix wp_ renamed to new_: 4 tables and views",
			"1 trigger, routine or event body was not prefix-renamed: the tables it names keep the prefix wp_"},
	}, {
		name: "CRLF lines and a line without newline before the trailer",
		in:   "CREATE DEFINER=`a`@`b` VIEW v AS SELECT 1;\r\nSELECT 1;\r\n",
		want: "CREATE DEFINER=CURRENT_USER VIEW v AS SELECT 1;\r\nSELECT 1;\r\n",
		warn: []string{"1 DEFINER clause rewritten to CURRENT_USER"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, tr, err := runTransform(t, tc.in+endLine, tc.prefix)
			require.NoError(t, err)
			require.Equal(t, tc.want+endLine, out)
			require.Equal(t, strings.Count(tc.in, "\n"), strings.Count(out, "\n")-1, "line numbers are kept")
			require.Equal(t, tc.warn, tr.warnings())
		})
	}
}

func TestTransformRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"SELECT 1;\nUSE `other`;\n" + endLine, "line 2 of the dump: a USE statement"},
		{"-- c\n\nuse other\n" + endLine, "line 3 of the dump: a USE statement"},
		{"CREATE DATABASE /*!32312 IF NOT EXISTS*/ `x`;\n" + endLine, "line 1 of the dump: a CREATE DATABASE statement"},
		{"/*!40000 DROP DATABASE IF EXISTS `x`*/;\n" + endLine, "line 1 of the dump: a DROP DATABASE statement"},
		{"CREATE SCHEMA x;\n" + endLine, "a CREATE SCHEMA statement"},
		{"INSERT INTO `t` VALUES (1);\n", "is incomplete"},
		{"INSERT INTO `t` VALUES\n(1),\n" + endLine + "(2);\n", "is incomplete"},
		{"", "is incomplete"},
		{"CREATE TABLE t (\n" + strings.Repeat("x", maxStatementLine) + "\n", ""}, // a column line, streamed
		{"/*!50001 VIEW " + strings.Repeat("x", maxStatementLine) + "\n" + endLine, "line 1 of the dump: a statement line longer than 16 MiB"},
	} {
		_, _, err := runTransform(t, tc.in, nil)
		if tc.want == "" {
			require.ErrorContains(t, err, "is incomplete")
			continue
		}
		require.ErrorContains(t, err, tc.want)
		require.ErrorIs(t, err, connector.ErrPermanent)
		var de *dumpError
		require.ErrorAs(t, err, &de)
	}
	// USE inside a routine body, or as data, is not a top-level statement.
	_, _, err := runTransform(t, "DELIMITER ;;\nCREATE PROCEDURE p()\nBEGIN\nUSE x;\nEND;;\nDELIMITER ;\nINSERT INTO `t` VALUES\n(1),\n(2);\n"+endLine, nil)
	require.NoError(t, err)
}

// TestTransformLongLinesStream: a data line far longer than the chunk size
// passes byte-identical in chunks, and reading it costs no line buffer.
func TestTransformLongLinesStream(t *testing.T) {
	t.Parallel()
	row := "(1,'" + strings.Repeat("DEFINER=`a`@`b` \\n", 200_000) + "')"
	in := "INSERT INTO `t` VALUES " + row + "," + row + ";\nCREATE DEFINER=`x`@`y` VIEW v AS SELECT 1;\n" + endLine
	tr := newTransform(nil)
	var out bytes.Buffer
	// One byte at a time from the reader: chunk boundaries fall everywhere.
	require.NoError(t, tr.run(&out, iotest.HalfReader(strings.NewReader(in))))
	want := strings.Replace(in, "CREATE DEFINER=`x`@`y`", "CREATE DEFINER=CURRENT_USER", 1)
	require.Equal(t, want, out.String())
}

func TestTransformErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tr := newTransform(nil)
	err := tr.run(io.Discard, io.MultiReader(strings.NewReader("SELECT 1;\n"), iotest.ErrReader(boom)))
	require.ErrorIs(t, err, boom)
	require.NotErrorIs(t, err, connector.ErrPermanent)
	tr = newTransform(nil)
	err = tr.run(failWriter{boom}, strings.NewReader(strings.Repeat("SELECT 1;\n", 20_000)+endLine))
	require.ErrorIs(t, err, boom)
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestCheckDump(t *testing.T) {
	t.Parallel()
	good := "/*M!999999\\- enable the sandbox mode */ \nCREATE TABLE `t` (id int);\nINSERT INTO `t` VALUES (1);\n" + endLine
	require.NoError(t, CheckDump(strings.NewReader(good)))
	require.NoError(t, CheckDump(strings.NewReader(strings.TrimSuffix(good, "\n"))))
	for _, cut := range []int{0, 10, len(good) / 2, len(good) - len(endLine)} {
		err := CheckDump(strings.NewReader(good[:cut]))
		require.ErrorContains(t, err, "is incomplete", "cut at %d", cut)
		require.ErrorIs(t, err, connector.ErrPermanent)
	}
	require.ErrorContains(t, CheckDump(strings.NewReader("USE x;\n"+endLine)), "USE statement")
}

// FuzzTransform: no panic; data lines pass byte-identical; a rewritten
// line holds no DEFINER clause but CURRENT_USER's; the output is the input
// again when nothing was to be rewritten; line numbers are kept.
func FuzzTransform(f *testing.F) {
	f.Add("/*!50013 DEFINER=`root`@`otherhost` SQL SECURITY DEFINER */", "(1,'x'),", "wp_")
	f.Add("CREATE DEFINER='a'@'b' PROCEDURE p()", "(2,'DEFINER=`a`@`b`');", "x")
	f.Add("/*!50003 CREATE*/ /*!50017 DEFINER=`r``o`@`h`*/ /*!50003 TRIGGER t BEFORE INSERT ON wp_t", "(3,'\\'');", "wp_")
	f.Add("SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ 'a:1-2,", "(')(', 0x00);", "")
	f.Add("DELIMITER ;;", "DEFINER=`x`@`y`", "wp_")
	f.Fuzz(func(t *testing.T, stmt, data, prefix string) {
		in := stmt + "\nINSERT INTO `wp_t` VALUES\n" + data + "\n(0);\n" + stmt + "\n" + endLine
		var p *connector.PrefixRename
		if prefixRe.MatchString(prefix) {
			p = &connector.PrefixRename{From: prefix, To: "n_"}
		}
		tr := newTransform(p)
		var out bytes.Buffer
		err := tr.run(&out, strings.NewReader(in))
		if err != nil {
			return // refused (USE …, an odd delimiter that swallows the trailer)
		}
		inLines, outLines := strings.Split(in, "\n"), strings.Split(out.String(), "\n")
		require.Equal(t, len(inLines), len(outLines))
		if !strings.ContainsAny(stmt, "\n\r") && !strings.Contains(stmt, "DELIMITER") && !strings.Contains(data, "\n") {
			// The data line after the INSERT header is data when the first
			// line ended its statement.
			if strings.HasSuffix(strings.TrimRight(stmt, " \t"), ";") || !looksLikeStatement(stmt) {
				require.Equal(t, inLines[2], outLines[2], "data line changed")
			}
		}
		for i, l := range outLines {
			if l != "" && l != inLines[i] {
				again := newTransform(nil)
				require.Equal(t, l, string(again.rewrite([]byte(l))), "a rewritten line rewrites again")
			}
		}
		if tr.definers == 0 && tr.gtidPurged+tr.logBin+tr.slavePos == 0 && !tr.sandbox && (p == nil || len(tr.renamed) == 0) {
			require.Equal(t, in, out.String())
		}
	})
}

// looksLikeStatement: the fuzz input's first line may leave a statement
// open (an unterminated CREATE …), after which the INSERT is not data.
func looksLikeStatement(s string) bool {
	return newTransform(nil).isStatementLine(bytes.TrimLeft([]byte(s), " \t"))
}

// BenchmarkTransform measures the filter over data in both INSERT layouts
// (one tuple a line, MariaDB; one statement a line, MySQL).
func BenchmarkTransform(b *testing.B) {
	tuple := "(12345,'Lorem ipsum dolor sit amet, it\\'s (consectetur) adipiscing; elit',0x00FF00FF00FF,NULL,3.14)"
	var sb strings.Builder
	for range 20 {
		sb.WriteString("INSERT INTO `wp_big` VALUES\n" + strings.Repeat(tuple+",\n", 999) + tuple + ";\n")
		sb.WriteString("INSERT INTO `wp_big` VALUES " + strings.Repeat(tuple+",", 999) + tuple + ";\n")
	}
	sb.WriteString(endLine)
	in := sb.String()
	for _, p := range []*connector.PrefixRename{nil, {From: "wp_", To: "n_"}} {
		b.Run(fmt.Sprintf("prefix=%v", p != nil), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if err := newTransform(p).run(io.Discard, strings.NewReader(in)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
