package commands

import (
	"reflect"
	"strings"

	"github.com/urfave/cli/v2"
)

// reorderArgs moves the flags of the command being run in front of its
// positional arguments, so that `arbor ls repo.car --json` works like
// `arbor ls --json repo.car` (urfave/cli v2 stops parsing flags at the first
// positional argument). It knows which flags take a value from the command's
// flag definitions. Everything after a literal "--" stays positional.
//
// Two cases keep the parser's own answer: -h or --help anywhere among the
// command's arguments asks for its help (the positionals are dropped, so
// `arbor ls repo.car -h` shows ls's help), and a flag that needs a value but
// comes last (or just before "--") is left last, so that the parser says
// "flag needs an argument" rather than taking the inserted "--" as its
// value.
func reorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out, rest, flags, done := walkCommandPath(app, args)
	if done {
		return out
	}
	var fl, pos []string
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			pos = append(pos, rest[i+1:]...)
			break
		}
		if isFlag(a) {
			if isHelp(a) {
				return append(out, a)
			}
			fl = append(fl, a)
			if takesValue(flags, a) {
				if i+1 >= len(rest) || rest[i+1] == "--" {
					// No value: let the parser say so.
					return append(out, fl...)
				}
				fl = append(fl, rest[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	out = append(out, fl...)
	if len(pos) > 0 {
		out = append(out, "--")
		out = append(out, pos...)
	}
	return out
}

// walkCommandPath copies the global flags and command names at the front
// of args, and returns the rest with the flags of the command reached. done
// says the rest was left as it was (a "--", or no command of that name),
// for the parser to read or report.
func walkCommandPath(app *cli.App, args []string) (out, rest []string, flags []cli.Flag, done bool) {
	out = []string{args[0]}
	rest = args[1:]
	flags = app.Flags
	cmds := app.Commands
	var cur *cli.Command
	for len(rest) > 0 {
		a := rest[0]
		if a == "--" {
			return append(out, rest...), nil, nil, true
		}
		if isFlag(a) {
			out = append(out, a)
			rest = rest[1:]
			if takesValue(flags, a) && len(rest) > 0 {
				out = append(out, rest[0])
				rest = rest[1:]
			}
			continue
		}
		cmd := findCommand(cmds, a)
		if cmd == nil && cur != nil && hasOwnAction(cur) {
			// A command with subcommands and an action of its own
			// (backup, backup verify): these are its arguments.
			break
		}
		if cmd == nil {
			// Not a command of this level: leave the rest for the
			// parser to report.
			return append(out, rest...), nil, nil, true
		}
		out = append(out, a)
		rest = rest[1:]
		flags = cmd.Flags
		cmds = cmd.Subcommands
		cur = cmd
		if len(cmds) == 0 {
			break
		}
	}
	return out, rest, flags, false
}

// hasOwnAction says cmd does something itself rather than only name a
// group of subcommands (whose action setUsageErrors set to groupAction).
func hasOwnAction(cmd *cli.Command) bool {
	return cmd.Action != nil && reflect.ValueOf(cmd.Action).Pointer() != reflect.ValueOf(groupAction).Pointer()
}

func isHelp(a string) bool { return a == "-h" || a == "--help" || a == "-help" }

func isFlag(a string) bool {
	return len(a) > 1 && a[0] == '-' && a != "-"
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// takesValue reports whether flag argument a (like "--key" or "-o") needs the
// next argument as its value.
func takesValue(flags []cli.Flag, a string) bool {
	if strings.Contains(a, "=") {
		return false
	}
	name := strings.TrimLeft(a, "-")
	if name == "h" || name == "help" {
		return false
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			switch f.(type) {
			case *cli.BoolFlag:
				return false
			}
			if dv, ok := f.(cli.DocGenerationFlag); ok {
				return dv.TakesValue()
			}
			return true
		}
	}
	return false
}
