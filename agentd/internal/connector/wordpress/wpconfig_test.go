package wordpress

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// php wraps body in an open tag.
func php(body string) []byte { return []byte("<?php\n" + body + "\n") }

func TestParseWPConfigStandard(t *testing.T) {
	t.Parallel()
	src := `<?php
/**
 * The base configuration for WordPress
 * define('DB_NAME', 'in_a_comment');
 */
// ** Database settings ** //
define( 'DB_NAME', 'shop_wp' );   # the database
define( 'DB_USER', 'shop' );
define( 'DB_PASSWORD', 'p@ss\'wo\\rd' );
define( 'DB_HOST', 'localhost' );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
define( 'AUTH_KEY', 'put your unique phrase here' );
$table_prefix = 'wp_';
define( 'WP_DEBUG', false );
if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}
require_once ABSPATH . 'wp-settings.php';
`
	c, err := ParseWPConfig([]byte(src))
	require.NoError(t, err)
	requireValue(t, c.DBName, "shop_wp", 7)
	requireValue(t, c.DBUser, "shop", 8)
	requireValue(t, c.DBPassword, `p@ss'wo\rd`, 9)
	requireValue(t, c.DBHost, "localhost", 10)
	requireValue(t, c.DBCharset, "utf8mb4", 11)
	requireValue(t, c.TablePrefix, "wp_", 14)
	require.True(t, c.MultisiteKnown)
	require.False(t, c.Multisite)
	require.Empty(t, c.Warnings)
}

func requireValue(t *testing.T, s Setting, want string, line int) {
	t.Helper()
	v, err := s.Get("hint")
	require.NoError(t, err, s.Name)
	require.Equal(t, want, v, s.Name)
	require.Equal(t, line, s.Line, s.Name)
}

func TestParseWPConfigForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, want string
	}{
		{"single quotes", `define('DB_NAME', 'a b');`, "a b"},
		{"double quotes and spaces", `define( "DB_NAME" , "x" ) ;`, "x"},
		{"newlines everywhere", "define\n(\n'DB_NAME'\n,\n'x'\n)\n;", "x"},
		{"upper-case DEFINE", `DEFINE('DB_NAME', 'x');`, "x"},
		{"namespaced call", `\define('DB_NAME', 'x');`, "x"},
		{"single-quote escapes", `define('DB_NAME', 'a\\b\'c\n\x');`, `a\b'c\n\x`},
		{"double-quote escapes", `define('DB_NAME', "a\n\t\\\"\$\x41\u{1F600}\101\e\q");`, "a\n\t\\\"$A\U0001F600A\x1b\\q"},
		{"\\x one digit", `define('DB_NAME', "\x4g");`, "\x04g"},
		{"\\x without digits", `define('DB_NAME', "\xg");`, `\xg`},
		{"octal wraps", `define('DB_NAME', "\400");`, "\x00"},
		{"\\u without brace", `define('DB_NAME', "\u00e9");`, `\u00e9`},
		{"lone dollar", `define('DB_NAME', "a$ b$");`, "a$ b$"},
		{"first define wins", "define('DB_NAME', 'first');\ndefine('DB_NAME', 'second');", "first"},
		{"line comment", "// define('DB_NAME', 'no');\ndefine('DB_NAME', 'yes');", "yes"},
		{"hash comment", "# define('DB_NAME', 'no');\ndefine('DB_NAME', 'yes');", "yes"},
		{"block comment", "/* define('DB_NAME', 'no'); */ define(/* x */'DB_NAME'/* y */, 'yes');", "yes"},
		{"comment inside string", `define('DB_NAME', 'a // b /* c # d');`, "a // b /* c # d"},
		{"concatenated literals", `define('DB_NAME', 'shop' . "_" . ('wp'));`, "shop_wp"},
		{"parenthesized", `define('DB_NAME', (('x')));`, "x"},
		{"integer", `define('DB_NAME', 12345);`, "12345"},
		{"negative hex", `define('DB_NAME', -0x1_0);`, "-16"},
		{"true", `define('DB_NAME', TRUE);`, "1"},
		{"null", `define('DB_NAME', null);`, ""},
		{"binary string", `define('DB_NAME', b'x');`, "x"},
		{"nowdoc", "define('DB_NAME', <<<'EOT'\n  a $b\n  EOT);", "a $b"},
		{"heredoc", "define('DB_NAME', <<<EOT\nline1\\t\n\"q\"\nEOT\n);", "line1\t\n\"q\""},
		{"heredoc hides quotes", "$x = <<<EOT\nit's \"\nEOT;\ndefine('DB_NAME', 'after');", "after"},
		{"self-guarded if", "if ( ! defined( 'DB_NAME' ) ) {\n define( 'DB_NAME', 'x' );\n}", "x"},
		{"self-guarded braceless", "if (!defined('DB_NAME')) define('DB_NAME', 'x');", "x"},
		{"self-guarded or", "defined('DB_NAME') or define('DB_NAME', 'x');", "x"},
		{"self-guarded ||", "defined('DB_NAME') || define('DB_NAME', 'x');", "x"},
		{"self-guarded &&", "!defined('DB_NAME') && define('DB_NAME', 'x');", "x"},
		{"silenced", "@define('DB_NAME', 'x');", "x"},
		{"top-level const", "const DB_NAME = 'x', DB_USER = 'u';", "x"},
		{"define wins over later const", "define('DB_NAME', 'd'); const DB_NAME = 'c';", "d"},
		{"namespaced const is another constant", "namespace App;\nconst DB_NAME = 'ns';\ndefine('DB_NAME', 'global');", "global"},
		{"define in a namespace is global", "namespace App;\ndefine('DB_NAME', 'x');", "x"},
		{"method named define", "$o->define('DB_NAME', 'no'); Foo::define('DB_NAME', 'no'); define('DB_NAME', 'yes');", "yes"},
		{"function declared after", "define('DB_NAME', 'yes');\nfunction f() { define('DB_NAME', 'no'); }", "yes"},
		{"guard of another constant", "if (!defined('ABSPATH')) { define('ABSPATH', __DIR__); }\ndefine('DB_NAME', 'x');", "x"},
		{"inline html", "?>\n<p>define('DB_NAME', 'html');</p>\n<?php define('DB_NAME', 'php');", "php"},
		{"?> ends a line comment", "// comment ?>text<?php define('DB_NAME', 'x');", "x"},
		{"<?php needs whitespace", "?><?phpx define('DB_NAME', 'no'); <?php define('DB_NAME', 'yes');", "yes"},
		{"define after the settings include", "define('DB_NAME', 'x'); require_once ABSPATH . 'wp-settings.php'; define('DB_USER', 'late');", "x"},
		{"closure is conditional but later define counts", "$f = function () { return 1; };\ndefine('DB_NAME', 'x');", "x"},
		{"alternative syntax", "if (X): define('A', 1); else: define('B', 2); endif;\ndefine('DB_NAME', 'x');", "x"},
		{"switch", "switch ($a) { case 1: define('A', 1); break; default: }\ndefine('DB_NAME', 'x');", "x"},
		{"attribute", "#[Attr]\nfunction f() {}\ndefine('DB_NAME', 'x');", "x"},
		{"class constant", "class C { const DB_NAME = 'no'; public function f() { } }\ndefine('DB_NAME', 'x');", "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := ParseWPConfig(php(tt.src))
			require.NoError(t, err)
			v, err := c.DBName.Get("hint")
			require.NoError(t, err)
			require.Equal(t, tt.want, v)
		})
	}
}

func TestParseWPConfigNotLiteral(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, want string
	}{
		{"getenv", `define('DB_PASSWORD', getenv('WP_DB_PASSWORD'));`, "DB_PASSWORD is computed (getenv())"},
		{"namespaced getenv with fallback", `define('DB_PASSWORD', \getenv('X') ?: 'default');`, "DB_PASSWORD is computed (getenv())"},
		{"$_ENV", `define('DB_PASSWORD', $_ENV['DB_PASSWORD']);`, "computed (the variable $_ENV)"},
		{"constant", `define('DB_PASSWORD', SECRET);`, "computed (the constant SECRET)"},
		{"concatenation with a constant", `define('DB_PASSWORD', 'a' . SECRET);`, "computed (the constant SECRET)"},
		{"interpolation", `define('DB_PASSWORD', "pre$suffix");`, "computed (a string with $variable interpolation)"},
		{"braced interpolation", `define('DB_PASSWORD', "pre{$a['b']}");`, "interpolation"},
		{"heredoc interpolation", "define('DB_PASSWORD', <<<EOT\n$x\nEOT);", "interpolation"},
		{"include", `define('DB_PASSWORD', include __DIR__ . '/secret.php');`, "computed (include)"},
		{"shell", "define('DB_PASSWORD', `cat /etc/secret`);", "computed (a shell command)"},
		{"cast", `define('DB_PASSWORD', (string) 5);`, "computed (a (string) cast)"},
		{"float", `define('DB_PASSWORD', 1.5);`, "DB_PASSWORD is a float number"},
		{"if", "if ($prod) { define('DB_PASSWORD', 'a'); } else { define('DB_PASSWORD', 'b'); }", "defined conditionally"},
		{"braceless if", "if ($prod) define('DB_PASSWORD', 'a');\ndefine('DB_PASSWORD', 'b');", "defined conditionally"},
		{"else branch", "if (!defined('DB_PASSWORD')) {} else { define('DB_PASSWORD', 'x'); }", "defined conditionally"},
		{"guard of another constant", "if (!defined('ABSPATH')) { define('DB_PASSWORD', 'x'); }", "defined conditionally"},
		{"&&", "$prod && define('DB_PASSWORD', 'x');", "defined conditionally"},
		{"ternary", "$prod ? define('DB_PASSWORD', 'x') : null;", "defined conditionally"},
		{"loop", "foreach ($a as $b) define('DB_PASSWORD', 'x');", "defined conditionally"},
		{"alternative if", "if ($a): define('DB_PASSWORD', 'x'); endif;", "defined conditionally"},
		{"function body", "function f() { define('DB_PASSWORD', 'a'); }\ndefine('DB_PASSWORD', 'b');", "defined conditionally"},
		{"try is not conditional but catch is", "try { x(); } catch (E $e) { define('DB_PASSWORD', 'x'); }", "defined conditionally"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := ParseWPConfig(php(tt.src))
			require.NoError(t, err)
			_, err = c.DBPassword.Get("hint: set db_credential_id")
			require.ErrorContains(t, err, tt.want)
			require.ErrorContains(t, err, "not a literal: hint: set db_credential_id")
			require.ErrorContains(t, err, "wp-config.php line ")
		})
	}
}

func TestParseWPConfigMissing(t *testing.T) {
	t.Parallel()
	c, err := ParseWPConfig(php("define('DB_USER', 'u');"))
	require.NoError(t, err)
	_, err = c.DBName.Get("hint")
	require.EqualError(t, err, "wp-config.php: DB_NAME is not defined")

	c, err = ParseWPConfig(php("require __DIR__ . '/db-config.php';\ndefine('DB_USER', 'u');"))
	require.NoError(t, err)
	_, err = c.DBName.Get("hint")
	require.ErrorContains(t, err, `DB_NAME is not defined (it may come from the file included at line 2: require __DIR__ . "/db-config.php"`)
	require.Len(t, c.Warnings, 1)
	require.Contains(t, c.Warnings[0], "wp-config.php line 2 includes another file")
	require.Contains(t, c.Warnings[0], "before it defines DB_USER")

	c, err = ParseWPConfig([]byte("no php at all define('DB_NAME', 'x');"))
	require.NoError(t, err)
	require.False(t, c.DBName.Set)
}

func TestParseWPConfigTablePrefix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, want, err string
	}{
		{"plain", `$table_prefix = 'xq7_';`, "xq7_", ""},
		{"double quotes", `$table_prefix  =  "wp2_" ;`, "wp2_", ""},
		{"last assignment wins", "$table_prefix = 'a_';\n$table_prefix = 'b_';", "b_", ""},
		{"conditional then unconditional", "if ($x) { $table_prefix = 'a_'; }\n$table_prefix = 'b_';", "b_", ""},
		{"assignment after wp-settings.php does not count",
			"$table_prefix = 'a_';\nrequire_once ABSPATH . 'wp-settings.php';\n$table_prefix = 'late_';", "a_", ""},
		{"unconditional then conditional", "$table_prefix = 'a_';\nif ($x) { $table_prefix = 'b_'; }", "", "$table_prefix is assigned conditionally"},
		{"compound", "$table_prefix = 'a';\n$table_prefix .= '_';", "", "computed (modified with .=)"},
		{"computed", `$table_prefix = getenv('PREFIX') ?: 'wp_';`, "", "computed (getenv())"},
		{"invalid characters", `$table_prefix = 'wp-';`, "", `"wp-", which is not a valid table prefix`},
		{"injection", "$table_prefix = 'wp`; DROP TABLE x; -- ';", "", "not a valid table prefix"},
		{"empty", `$table_prefix = '';`, "", "not a valid table prefix"},
		{"missing", `$other = 'x';`, "", "$table_prefix is not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := ParseWPConfig(php(tt.src))
			require.NoError(t, err)
			v, err := c.TablePrefix.Get("hint")
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, v)
		})
	}
}

func TestParseWPConfigMultisite(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src          string
		multi, known bool
		allow        bool
	}{
		{"", false, true, false},
		{"define('MULTISITE', true);", true, true, false},
		{"define('MULTISITE', false);", false, true, false},
		{"define('MULTISITE', 1);", true, true, false},
		{"define('MULTISITE', 0);", false, true, false},
		{"define('MULTISITE', '0');", false, true, false},
		{"define('MULTISITE', 'false');", true, true, false}, // a non-empty string is true in PHP
		{"define('WP_ALLOW_MULTISITE', true);", false, true, true},
		{"define('SUBDOMAIN_INSTALL', false);", true, true, false}, // defined at all, as is_multisite() checks
		{"define('MULTISITE', getenv('M'));", false, false, false},
		{"if ($x) define('MULTISITE', true);", false, false, false},
	}
	for _, tt := range tests {
		c, err := ParseWPConfig(php(tt.src))
		require.NoError(t, err)
		require.Equal(t, tt.multi, c.Multisite, tt.src)
		require.Equal(t, tt.known, c.MultisiteKnown, tt.src)
		require.Equal(t, tt.allow, c.AllowMultisite, tt.src)
		if !tt.known {
			require.Contains(t, c.MultisiteReason, "MULTISITE is ")
		}
	}
}

func TestParseWPConfigSyntaxErrors(t *testing.T) {
	t.Parallel()
	for src, want := range map[string]string{
		"define('DB_NAME', 'x);":           "line 2: unterminated string",
		`define('DB_NAME', "\u{110000}");`: "codepoint too large",
		`define('DB_NAME', "\u{zz}");`:     "invalid UTF-8 codepoint escape",
		"$x = <<<EOT\nnever closed\n":      "unterminated heredoc <<<EOT",
		strings.Repeat("{", 300):           "nested deeper than 200",
		strings.Repeat("if ($a) ", 300):    "nested deeper than 200",
	} {
		_, err := ParseWPConfig(php(src))
		require.ErrorContains(t, err, want, src)
	}
	_, err := ParseWPConfig(make([]byte, maxConfigSize+1))
	require.ErrorContains(t, err, "larger than")

	c, err := ParseWPConfig(php("define('DB_NAME', 'x'); /* never closed"))
	require.NoError(t, err)
	require.Equal(t, []string{"line 2: unterminated comment"}, c.Warnings)
}

func TestParseDBHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want DBHost
		err  string
	}{
		{"localhost", DBHost{Host: "localhost"}, ""},
		{"", DBHost{}, ""},
		{"db.example.com", DBHost{Host: "db.example.com"}, ""},
		{"127.0.0.1:3307", DBHost{Host: "127.0.0.1", Port: 3307}, ""},
		{"localhost:/var/run/mysqld/mysqld.sock", DBHost{Host: "localhost", Socket: "/var/run/mysqld/mysqld.sock"}, ""},
		{"localhost:3306:/tmp/my.sock", DBHost{Host: "localhost", Port: 3306, Socket: "/tmp/my.sock"}, ""},
		{"[::1]:3306", DBHost{Host: "::1", Port: 3306, IPv6: true}, ""},
		{"[::1]", DBHost{Host: "::1", IPv6: true}, ""},
		{"::1", DBHost{Host: "::1", IPv6: true}, ""},
		{"[2001:db8::5]:3310", DBHost{Host: "2001:db8::5", Port: 3310, IPv6: true}, ""},
		{"db:0", DBHost{Host: "db"}, ""},
		{"db:99999", DBHost{}, "port out of range"},
		{"db;rm -rf /", DBHost{}, "is not a host name"},
		{"-oProxyCommand=x", DBHost{}, "is not a host name"},
	}
	for _, tt := range tests {
		got, err := ParseDBHost(tt.in)
		if tt.err != "" {
			require.ErrorContains(t, err, tt.err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		require.Equal(t, tt.want, got, tt.in)
	}
	require.True(t, DBHost{Host: "LocalHost"}.IsLocal())
	require.True(t, DBHost{}.IsLocal())
	require.False(t, DBHost{Host: "127.0.0.1"}.IsLocal())
}

func TestParseVersionPHP(t *testing.T) {
	t.Parallel()
	src := `<?php
/**
 * WordPress Version
 * @global string $wp_version
 */
$wp_version = '6.4.2';
$wp_db_version = 56657;
$tinymce_version = '49110-20201110';
$required_php_version = '7.0.0';
`
	v, err := ParseVersionPHP([]byte(src))
	require.NoError(t, err)
	require.Equal(t, "6.4.2", v)

	_, err = ParseVersionPHP(php(`$wp_version = "6.4; rm -rf /";`))
	require.ErrorContains(t, err, "is not a version number")
	_, err = ParseVersionPHP(php(`$x = 1;`))
	require.EqualError(t, err, "version.php: $wp_version is not defined")
}

// FuzzParseWPConfig checks the reader never panics and stays fast. Run
// with: go test -fuzz FuzzParseWPConfig ./agentd/internal/connector/wordpress/
func FuzzParseWPConfig(f *testing.F) {
	for _, s := range []string{
		"<?php define('DB_NAME', 'x'); $table_prefix = 'wp_';",
		"<?php define(\"DB_HOST\", \"[::1]:3306\"); // c\n# c\n/* c */ ?> html <?= 1 ?>",
		"<?php if (!defined('X')) { define('X', <<<EOT\n a {$b}\n EOT); } else: endif;",
		"<?php \"\\u{1F600}\\x41\\101\" 'a\\'b' `ls` b'x' 0x1F 1.5e3 1_000 namespace A { const B = 1; }",
		"<?php function f() { define('DB_NAME', getenv('X')); } class C { const A = 1; } switch(1) { case 1: }",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		c, err := ParseWPConfig(src)
		if err != nil {
			return
		}
		for _, s := range []Setting{c.DBName, c.DBUser, c.DBPassword, c.DBHost, c.DBCharset, c.TablePrefix} {
			if v, err := s.Get("hint"); err == nil && s.Name == "$table_prefix" && !prefixRE.MatchString(v) {
				t.Fatalf("invalid prefix %q accepted", v)
			}
		}
		if v, err := c.DBHost.Get("hint"); err == nil {
			_, _ = ParseDBHost(v)
		}
		_, _ = ParseVersionPHP(src)
	})
}

// TestParseWPConfigLargeInputs feeds 1 MiB of hostile shapes, which must
// be read in linear time (the test would time out otherwise).
func TestParseWPConfigLargeInputs(t *testing.T) {
	t.Parallel()
	const n = maxConfigSize - 16
	fill := func(unit string) []byte {
		return append([]byte("<?php\n"), bytes.Repeat([]byte(unit), (n-6)/len(unit))...)
	}
	for name, src := range map[string][]byte{
		"nested define calls": fill("define("),
		"unclosed parens":     fill("("),
		"ifs without bodies":  fill("if(1);"),
		"statements":          fill("define('A',1);"),
		"braces":              fill("{}"),
		"heredoc openers":     fill("<<<A\n"),
		"comments":            fill("/**/"),
		"tags":                fill("?><?php "),
		"html":                append([]byte("<"), bytes.Repeat([]byte("<?"), n/2)...),
		"strings":             fill(`"\x41\u{41}\101$"`),
		"dollars":             fill("$$$a"),
	} {
		start := time.Now()
		_, _ = ParseWPConfig(src)
		t.Logf("%s: %v", name, time.Since(start))
	}
}

// TestParseWPConfigRealWorld reads shapes of wp-config.php found in the
// wild: WordPress 2's sample and the official Docker image's.
func TestParseWPConfigRealWorld(t *testing.T) {
	t.Parallel()
	old := `<?php
// ** MySQL settings ** //
define('DB_NAME', 'putyourdbnamehere');    // The name of the database
define('DB_USER', 'usernamehere');     // Your MySQL username
define('DB_PASSWORD', 'yourpasswordhere'); // ...and password
define('DB_HOST', 'localhost');    // 99% chance you won't need to change this value
$table_prefix  = 'wp_';   // Only numbers, letters, and underscores please!
define ('WPLANG', '');
/* That's all, stop editing! Happy blogging. */
define('ABSPATH', dirname(__FILE__).'/');
require_once(ABSPATH.'wp-settings.php');
?>
`
	c, err := ParseWPConfig([]byte(old))
	require.NoError(t, err)
	requireValue(t, c.DBName, "putyourdbnamehere", 3)
	requireValue(t, c.DBHost, "localhost", 6)
	requireValue(t, c.TablePrefix, "wp_", 7)

	docker := `<?php
if (!function_exists('getenv_docker')) {
	// https://github.com/docker-library/wordpress/issues/588 (WP-CLI will load this file 2x)
	function getenv_docker($env, $default) {
		if ($fileEnv = getenv($env . '_FILE')) {
			return rtrim(file_get_contents($fileEnv), "\r\n");
		}
		else if (($val = getenv($env)) !== false) {
			return $val;
		}
		else {
			return $default;
		}
	}
}
define( 'DB_NAME', getenv_docker('WORDPRESS_DB_NAME', 'wordpress') );
define( 'DB_USER', 'literal_user' );
define( 'DB_PASSWORD', getenv_docker('WORDPRESS_DB_PASSWORD', 'example password') );
define( 'DB_HOST', getenv_docker('WORDPRESS_DB_HOST', 'mysql') );
$table_prefix = getenv_docker('WORDPRESS_TABLE_PREFIX', 'wp_');
if (isset($_SERVER['HTTP_X_FORWARDED_PROTO']) && strpos($_SERVER['HTTP_X_FORWARDED_PROTO'], 'https') !== false) {
	$_SERVER['HTTPS'] = 'on';
}
if ($configExtra = getenv_docker('WORDPRESS_CONFIG_EXTRA', '')) {
	eval($configExtra);
}
if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}
require_once ABSPATH . 'wp-settings.php';
`
	c, err = ParseWPConfig([]byte(docker))
	require.NoError(t, err)
	_, err = c.DBName.Get("hint")
	require.EqualError(t, err, "wp-config.php line 16: DB_NAME is computed (getenv_docker()), not a literal: hint")
	requireValue(t, c.DBUser, "literal_user", 17)
	_, err = c.DBPassword.Get("hint")
	require.ErrorContains(t, err, "DB_PASSWORD is computed (getenv_docker())")
	_, err = c.TablePrefix.Get("hint")
	require.ErrorContains(t, err, "line 20: $table_prefix is computed (getenv_docker())")
}
