// Package output prints xv results: JSON with the API's exact shapes for
// scripts, aligned tables and human-friendly times and sizes for people.
package output

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Format is the -o value.
type Format string

const (
	FormatTable Format = "table"
	FormatJSON  Format = "json"
)

// ParseFormat accepts "", "table" and "json".
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "", "table":
		return FormatTable, nil
	case "json":
		return FormatJSON, nil
	}
	return "", fmt.Errorf("invalid output format %q: want table or json", s)
}

// Printer writes a command's result to stdout.
type Printer struct {
	Format Format
	Out    io.Writer
	Now    func() time.Time
}

// JSON reports whether -o json was asked for.
func (p *Printer) JSON() bool { return p.Format == FormatJSON }

// PrintJSON writes v as indented JSON and a newline.
func (p *Printer) PrintJSON(v any) error {
	enc := json.NewEncoder(p.Out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Items makes sure a list prints as [] rather than null.
func Items[T any](items []T) []T {
	if items == nil {
		return []T{}
	}
	return items
}

// Table starts an aligned table with a header row.
func (p *Printer) Table(headers ...string) *Table {
	t := &Table{w: tabwriter.NewWriter(p.Out, 0, 0, 2, ' ', 0)}
	t.Row(headers...)
	return t
}

// Table is rows of cells aligned in columns.
type Table struct{ w *tabwriter.Writer }

// Row adds one row; empty cells print as "-".
func (t *Table) Row(cells ...string) {
	for i, c := range cells {
		if c == "" {
			c = "-"
		}
		cells[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(c)
	}
	fmt.Fprintln(t.w, strings.Join(cells, "\t"))
}

// Flush writes the table out.
func (t *Table) Flush() error { return t.w.Flush() }

// Fields starts a "Key: value" listing for one object.
func (p *Printer) Fields() *Fields {
	return &Fields{w: tabwriter.NewWriter(p.Out, 0, 0, 2, ' ', 0)}
}

// Fields is an aligned list of labelled values.
type Fields struct{ w *tabwriter.Writer }

// Add adds a line; an empty value prints as "-".
func (f *Fields) Add(label, value string) {
	if value == "" {
		value = "-"
	}
	fmt.Fprintf(f.w, "%s:\t%s\n", label, value)
}

// Flush writes the listing out.
func (f *Fields) Flush() error { return f.w.Flush() }

// Now is the printer's clock.
func (p *Printer) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Ago renders t relative to now for tables: "3m ago", "in 2h", or a date
// beyond a week.
func (p *Printer) Ago(t time.Time) string { return Ago(t, p.now()) }

// AgoPtr is Ago for optional times; nil prints "-".
func (p *Printer) AgoPtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return p.Ago(*t)
}

// When renders t in full with its relative age: "2026-01-02T15:04:05Z (3m ago)".
func (p *Printer) When(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339) + " (" + p.Ago(t) + ")"
}

// WhenPtr is When for optional times.
func (p *Printer) WhenPtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return p.When(*t)
}
