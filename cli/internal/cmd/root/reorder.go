package root

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// reorder moves a leaf command's flags before its positional arguments, so
// `xv source show ID -o json` works: urfave/cli v2 stops reading flags at the
// first argument. Everything after "--" stays an argument.
func reorder(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	flags, cmds := app.Flags, app.Commands
	i := 1
	// Walk down the command path, keeping group-level flags where they are.
	for i < len(args) {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if isFlag(a) {
			out = append(out, a)
			if takesValue(flags, a) && i+1 < len(args) {
				out = append(out, args[i+1])
				i++
			}
			i++
			continue
		}
		cmd := find(cmds, a)
		if cmd == nil {
			return append(out, args[i:]...) // unknown: let the parser report it
		}
		out = append(out, a)
		i++
		if len(cmd.Subcommands) == 0 {
			return append(out, sortLeaf(cmd.Flags, args[i:])...)
		}
		flags, cmds = cmd.Flags, cmd.Subcommands
	}
	return out
}

// sortLeaf puts flags (with their values) first, then the arguments.
func sortLeaf(flags []cli.Flag, rest []string) []string {
	var fl, pos []string
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			pos = append(pos, rest[i+1:]...)
			break
		}
		if !isFlag(a) {
			pos = append(pos, a)
			continue
		}
		fl = append(fl, a)
		if takesValue(flags, a) && i+1 < len(rest) {
			fl = append(fl, rest[i+1])
			i++
		}
	}
	if slices.ContainsFunc(pos, isFlag) {
		fl = append(fl, "--")
	}
	return append(fl, pos...)
}

func isFlag(a string) bool { return len(a) > 1 && strings.HasPrefix(a, "-") }

// takesValue reports whether "-x" or "--name" (without "=value") needs the
// next argument as its value.
func takesValue(flags []cli.Flag, a string) bool {
	if strings.Contains(a, "=") {
		return false
	}
	name := strings.TrimLeft(a, "-")
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			_, isBool := f.(*cli.BoolFlag)
			return !isBool
		}
	}
	return false // unknown or help: the parser reports it
}

func find(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
