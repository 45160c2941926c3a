package wordpress

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Reading wp-config.php without running it.
//
// The file is tokenized like PHP does (phplex.go) and its statements
// followed far enough (phpparse.go) to find every define(), top-level
// `const`, and assignment of $table_prefix, together with whether that
// code runs unconditionally when the file is loaded. The rules are PHP's:
//
//   - A constant keeps its FIRST definition: a later define() of the same
//     name fails at run time and changes nothing. A define() inside an
//     if/else, a loop, a function, or behind && / || / ?: is "conditional";
//     when the first definition of a setting is conditional its value
//     cannot be known without running the file, and reading it is an error.
//     `if (!defined('X')) { define('X', …); }`, `defined('X') ||
//     define('X', …)` and `!defined('X') && define('X', …)` define X
//     unconditionally as far as this file is concerned.
//   - A variable keeps its LAST assignment before it is used: wp-config.php
//     ends with `require_once ABSPATH . 'wp-settings.php';`, which reads
//     $table_prefix, so reading stops at that require (what follows runs
//     after WordPress connected to its database). Without it, the last
//     assignment in the file counts.
//   - A value is known only when it is a literal: a quoted string without
//     $variable interpolation, a number, true/false/null, or a
//     concatenation of quoted strings ('wp' . '_'). Anything else — a call
//     (getenv()), a constant, a variable, an include, a shell command — is
//     "computed" and reading it is an error naming the setting and what
//     computed it, with the source setting that overrides it.
//   - An include/require before a setting's first definition may define it
//     first (and win): that is reported as a warning.
//
// Short open tags (<? without "php") are not recognised: php.ini-production
// turns them off. Inline HTML and <?= … ?> are skipped.

// The constants and variable read from wp-config.php.
const (
	constDBName         = "DB_NAME"
	constDBUser         = "DB_USER"
	constDBPassword     = "DB_PASSWORD"
	constDBHost         = "DB_HOST"
	constDBCharset      = "DB_CHARSET"
	constMultisite      = "MULTISITE"
	constAllowMultisite = "WP_ALLOW_MULTISITE"
	varTablePrefix      = "table_prefix"
	varWPVersion        = "wp_version"
)

// Setting is what wp-config.php says about one setting.
type Setting struct {
	Name    string // "DB_NAME", "$table_prefix"
	Set     bool   // defined (or assigned) at all
	Line    int    // of the definition that counts
	Literal bool   // Value and Truthy are known
	Value   string // as PHP converts it to a string
	Truthy  bool   // as PHP converts it to a boolean
	// Reason says why a set value is not known: "computed (getenv())",
	// "defined conditionally", …
	Reason string
	// missing explains an unset setting ("… may come from the include at line 3").
	missing string
	file    string // "wp-config.php"
}

// Get returns the setting's literal value, or an error naming the setting,
// why its value cannot be read without running PHP, and hint.
func (s Setting) Get(hint string) (string, error) {
	switch {
	case !s.Set:
		return "", fmt.Errorf("%s: %s is not defined%s", s.file, s.Name, s.missing)
	case !s.Literal:
		return "", fmt.Errorf("%s line %d: %s is %s, not a literal: %s", s.file, s.Line, s.Name, s.Reason, hint)
	}
	return s.Value, nil
}

// WPConfig is what ParseWPConfig found.
type WPConfig struct {
	DBName, DBUser, DBPassword, DBHost, DBCharset Setting
	TablePrefix                                   Setting
	// Multisite is WordPress's is_multisite() as this file decides it: the
	// value of MULTISITE when it is defined, else whether SUBDOMAIN_INSTALL,
	// VHOST or SUNRISE is. MultisiteKnown is false when MULTISITE is not a
	// literal (MultisiteReason says why).
	Multisite       bool
	MultisiteKnown  bool
	MultisiteReason string
	// AllowMultisite is WP_ALLOW_MULTISITE: the network setup screen is
	// enabled (the site is not multisite because of it).
	AllowMultisite bool
	// CustomTables are the literal CUSTOM_USER_TABLE and
	// CUSTOM_USER_META_TABLE: user tables shared between sites, which may
	// lack the table prefix.
	CustomTables []string
	// Warnings are things a reader should know: an include before the
	// database settings, an unterminated comment.
	Warnings []string
}

// maxConfigSize bounds wp-config.php and version.php.
const maxConfigSize = 1 << 20

var prefixRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// ParseWPConfig reads wp-config.php. It fails only on a file PHP could not
// compile (an unterminated string…) or one larger than 1 MiB; a missing or
// computed setting is reported when the setting is read (Setting.Get).
func ParseWPConfig(src []byte) (*WPConfig, error) {
	if len(src) > maxConfigSize {
		return nil, fmt.Errorf("wp-config.php is larger than %d bytes", maxConfigSize)
	}
	toks, warnings, err := lex(src)
	if err != nil {
		return nil, fmt.Errorf("wp-config.php: %w", err)
	}
	p, err := parsePHP(toks, varTablePrefix)
	p.file = "wp-config.php"
	if err != nil {
		return nil, fmt.Errorf("wp-config.php: %w", err)
	}
	c := &WPConfig{Warnings: warnings}
	c.DBName = p.constant(constDBName)
	c.DBUser = p.constant(constDBUser)
	c.DBPassword = p.constant(constDBPassword)
	c.DBHost = p.constant(constDBHost)
	c.DBCharset = p.constant(constDBCharset)
	c.TablePrefix = p.variable(varTablePrefix, "assigned")
	if s := c.TablePrefix; s.Literal && !prefixRE.MatchString(s.Value) {
		c.TablePrefix.Literal = false
		c.TablePrefix.Reason = fmt.Sprintf("%q, which is not a valid table prefix (only A-Z, a-z, 0-9 and _)", s.Value)
	}
	c.multisite(p)
	if s := p.constant(constAllowMultisite); s.Literal {
		c.AllowMultisite = s.Truthy
	}
	for _, n := range []string{"CUSTOM_USER_TABLE", "CUSTOM_USER_META_TABLE"} {
		switch s := p.constant(n); {
		case s.Literal && s.Value != "":
			c.CustomTables = append(c.CustomTables, s.Value)
		case s.Set && !s.Literal:
			c.Warnings = append(c.Warnings, fmt.Sprintf("wp-config.php line %d: %s is %s: that table is dumped only if it has the table prefix", s.Line, n, s.Reason))
		}
	}
	c.Warnings = append(c.Warnings, p.includeWarnings(constDBName, constDBUser, constDBPassword, constDBHost)...)
	return c, nil
}

func (c *WPConfig) multisite(p parsed) {
	ms := p.constant(constMultisite)
	switch {
	case ms.Set && ms.Literal:
		c.Multisite, c.MultisiteKnown = ms.Truthy, true
	case ms.Set:
		c.MultisiteReason = fmt.Sprintf("line %d: MULTISITE is %s", ms.Line, ms.Reason)
	default:
		c.MultisiteKnown = true
		for _, name := range []string{"SUBDOMAIN_INSTALL", "VHOST", "SUNRISE"} {
			if d, ok := p.defines[name]; ok {
				if d.cond {
					c.MultisiteKnown = false
					c.MultisiteReason = fmt.Sprintf("line %d: %s is defined conditionally", d.line, name)
				}
				c.Multisite = true
			}
		}
	}
}

// constant evaluates the first definition of name.
func (p parsed) constant(name string) Setting {
	s := Setting{Name: name, file: p.file}
	d, ok := p.defines[name]
	if !ok {
		s.missing = p.missingNote()
		return s
	}
	return settle(s, d, "defined")
}

// variable evaluates the last assignment of $name.
func (p parsed) variable(name, verb string) Setting {
	s := Setting{Name: "$" + name, file: p.file}
	d, ok := p.assigns[name]
	if !ok {
		s.missing = p.missingNote()
		return s
	}
	if d.op != "=" {
		s.Set, s.Line, s.Reason = true, d.line, "computed (modified with "+d.op+")"
		return s
	}
	return settle(s, d, verb)
}

func settle(s Setting, d definition, verb string) Setting {
	s.Set, s.Line = true, d.line
	if d.cond {
		s.Reason = verb + " conditionally (inside an if, a loop or a function, or behind && / || / ?:)"
		return s
	}
	v, reason := evaluate(d.value)
	if reason != "" {
		s.Reason = "computed (" + reason + ")"
		return s
	}
	s.Truthy = v.truthy()
	if s.Value, s.Literal = v.string(); !s.Literal {
		s.Reason = "a float number"
	}
	return s
}

func (p parsed) missingNote() string {
	for _, in := range p.includes {
		if !in.settings {
			return fmt.Sprintf(" (it may come from the file included at line %d: %s; xVault reads only wp-config.php itself)", in.line, in.text)
		}
	}
	return ""
}

// includeWarnings names the includes that come before a setting's first definition.
func (p parsed) includeWarnings(names ...string) []string {
	var out []string
	for _, in := range p.includes {
		if in.settings {
			continue
		}
		var before []string
		for _, n := range names {
			if d, ok := p.defines[n]; ok && d.line > in.line {
				before = append(before, n)
			}
		}
		if len(before) > 0 {
			out = append(out, fmt.Sprintf("wp-config.php line %d includes another file (%s) before it defines %s: "+
				"a definition in that file would win, and xVault does not read it", in.line, in.text, strings.Join(before, ", ")))
		}
	}
	return out
}

// ParseVersionPHP reads $wp_version from wp-includes/version.php.
func ParseVersionPHP(src []byte) (string, error) {
	if len(src) > maxConfigSize {
		return "", fmt.Errorf("version.php is larger than %d bytes", maxConfigSize)
	}
	toks, _, err := lex(src)
	if err != nil {
		return "", fmt.Errorf("version.php: %w", err)
	}
	p, err := parsePHP(toks, varWPVersion)
	p.file = "version.php"
	if err != nil {
		return "", fmt.Errorf("version.php: %w", err)
	}
	v, err := p.variable(varWPVersion, "assigned").Get("is this a WordPress installation?")
	if err != nil {
		return "", err
	}
	if !versionRE.MatchString(v) {
		return "", fmt.Errorf("version.php: $wp_version %q is not a version number", truncate(v, 40))
	}
	return v, nil
}

var versionRE = regexp.MustCompile(`^[0-9][0-9A-Za-z.+-]{0,39}$`)

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// phpValue is a literal's value.
type phpValue struct {
	kind byte // 's' string, 'i' int, 'f' float, 'b' bool, 'n' null
	s    string
	i    int64
	f    float64
	b    bool
}

// string converts v as PHP's (string) cast does; ok is false for floats,
// whose PHP spelling ("1.0E+25") is not reproduced.
func (v phpValue) string() (string, bool) {
	switch v.kind {
	case 's':
		return v.s, true
	case 'i':
		return strconv.FormatInt(v.i, 10), true
	case 'b':
		if v.b {
			return "1", true
		}
		return "", true
	case 'n':
		return "", true
	}
	return "", false
}

// truthy converts v as PHP's (bool) cast does.
func (v phpValue) truthy() bool {
	switch v.kind {
	case 's':
		return v.s != "" && v.s != "0"
	case 'i':
		return v.i != 0
	case 'f':
		return v.f != 0
	case 'b':
		return v.b
	}
	return false
}
