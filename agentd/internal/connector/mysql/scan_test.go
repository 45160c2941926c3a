package mysql

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// scanAll feeds s to a scanner in pieces of n bytes (0 = at once).
func scanAll(s string, n int) *scanner {
	sc := newScanner()
	if n <= 0 {
		_, _ = sc.Write([]byte(s))
		return sc
	}
	for i := 0; i < len(s); i += n {
		_, _ = sc.Write([]byte(s[i:min(i+n, len(s))]))
	}
	return sc
}

func TestScannerCountsRows(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		dump string
		rows map[string]int64
		done bool
	}{
		{"mysql one line", "INSERT INTO `t` VALUES (1,'a'),(2,'b'),(3,NULL);\n-- Dump completed on 2025-01-01\n",
			map[string]int64{"t": 3}, true},
		{"mariadb one row per line", "INSERT INTO `t` VALUES\n(1,'x'),\n(2,'y');\nINSERT INTO `t` VALUES\n(3,'z');\n\n-- Dump completed on 2025\n",
			map[string]int64{"t": 3}, true},
		{"strings with syntax", `INSERT INTO ` + "`t`" + ` VALUES (1,'(),;'),(2,'it\'s'),(3,'a''b'),(4,'back\\'),(5,')\n(');` + "\n",
			map[string]int64{"t": 5}, false},
		{"hex and bits", "INSERT INTO `b` VALUES (0x00FF28,b'101'),(NULL,_binary '(');\n", map[string]int64{"b": 2}, false},
		{"quoted name", "INSERT INTO `tricky ``name'` VALUES (1),(2);\n", map[string]int64{"tricky `name'": 2}, false},
		{"name with newline", "INSERT INTO `a\nINSERT INTO `VALUES (1);\n", map[string]int64{"a\nINSERT INTO ": 1}, false},
		{"two tables", "INSERT INTO `a` VALUES (1);\nINSERT INTO `b` VALUES (1),(2);\nINSERT INTO `a` VALUES (2);\n",
			map[string]int64{"a": 2, "b": 2}, false},
		{"bodies ignored", "DELIMITER ;;\nINSERT INTO `log` VALUES (1);\n;;\nDELIMITER ;\nINSERT INTO `t` VALUES (1);\n",
			map[string]int64{"t": 1}, false},
		{"not at line start", "  INSERT INTO `t` VALUES (1);\n-- INSERT INTO `t` VALUES (1);\n", map[string]int64{}, false},
		{"complete-insert shape ignored", "INSERT INTO `t` (`a`) VALUES (1);\n", map[string]int64{"t": 0}, false},
		{"trailer not last", "-- Dump completed on x\nINSERT INTO `t` VALUES (1);\n", map[string]int64{"t": 1}, false},
		{"cut mid-row", "INSERT INTO `t` VALUES (1,'a'),(2,'b", map[string]int64{"t": 2}, false},
	} {
		for _, n := range []int{0, 1, 3, 7} {
			sc := scanAll(tc.dump, n)
			require.Equal(t, tc.rows, sc.rows, "%s (pieces of %d)", tc.name, n)
			require.Equal(t, tc.done, sc.completed(), "%s (pieces of %d)", tc.name, n)
		}
	}
}

func TestScannerNotesAndLongLines(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 3<<20)
	dump := "-- insufficient privileges to SHOW CREATE PROCEDURE `p`\n" +
		"INSERT INTO `t` VALUES ('" + long + "'),('" + long + "');\n" +
		"/*!50003 " + long + " */;\n-- Dump completed on 2025-01-01 10:00:00\n"
	sc := scanAll(dump, 64<<10)
	require.Equal(t, map[string]int64{"t": 2}, sc.rows)
	require.Equal(t, []string{"insufficient privileges to SHOW CREATE PROCEDURE `p`"}, sc.notes)
	require.True(t, sc.completed())
	require.EqualValues(t, len(dump), sc.total)
}

// FuzzScanner: any input is scanned without panic, and the result does not
// depend on how the stream is cut into writes.
func FuzzScanner(f *testing.F) {
	f.Add("INSERT INTO `t` VALUES (1,'a\\'b'),(2,'(');\n-- Dump completed\n", 3)
	f.Add("DELIMITER ;;\nINSERT INTO `x` VALUES (1);\nDELIMITER ;\n", 1)
	f.Add("INSERT INTO `a``b` VALUES\n(0x00),\n(NULL);\n", 2)
	f.Fuzz(func(t *testing.T, dump string, n int) {
		n = 1 + (n&0xff)%17
		whole, split := scanAll(dump, 0), scanAll(dump, n)
		require.Equal(t, whole.rows, split.rows)
		require.Equal(t, whole.notes, split.notes)
		require.Equal(t, whole.completed(), split.completed())
	})
}

func BenchmarkScanner(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("INSERT INTO `big` VALUES\n")
	for i := range 20000 {
		if i > 0 {
			sb.WriteString(",\n")
		}
		sb.WriteString("(12345,'Lorem ipsum dolor sit amet, it\\'s (consectetur) adipiscing; elit',0x00FF00FF00FF,NULL,3.14)")
	}
	sb.WriteString(";\n")
	chunk := []byte(sb.String())
	b.SetBytes(int64(len(chunk)))
	sc := newScanner()
	for b.Loop() {
		_, _ = sc.Write(chunk)
	}
}
