// Package commands holds arbor's command-line layer. Each file defines one
// command group; commands parse flags, call a core package and print. All
// logic lives in the core packages so that tests drive it without a
// terminal; the tests in this package drive whole commands through Run with
// in-memory streams.
package commands

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// Exit codes, the same for every command.
const (
	ExitOK    = 0 // success; for diff: no difference
	ExitFail  = 1 // a difference was found or verification failed
	ExitUsage = 2 // bad usage or unreadable input
)

// Env is what a run of arbor reads and writes.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// exitError carries an exit code with an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErr returns an error that exits with ExitUsage (bad usage, unreadable
// input).
func usageErr(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// inputErr wraps an error about unreadable or malformed input (exit 2).
func inputErr(err error) error { return withExit(ExitUsage, err) }

// withExit gives err the exit code, unless it already carries one (an
// exitError inside it); nil stays nil.
func withExit(code int, err error) error {
	if err == nil {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	return &exitError{code: code, err: err}
}

// failErr returns an error that exits with ExitFail (verification failed).
func failErr(format string, args ...any) error {
	return &exitError{code: ExitFail, err: fmt.Errorf(format, args...)}
}

// silentExit ends the command with a code and no message (the command has
// already printed its report).
type silentExit int

func (s silentExit) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

// Commands returns every top-level command. New command groups are added
// here.
func Commands() []*cli.Command {
	return []*cli.Command{
		inspectCommand(),
		lsCommand(),
		getCommand(),
		exportCommand(),
		verifyCommand(),
		diffCommand(), applyCommand(),
		keyCommand(),
		createCommand(),
		rewriteCommand(),
		PLCCommand(),
		firehoseCommand(),
		resolveCommand(), fetchCommand(), backupCommand(),
		mstCommand(), viewCommand(),
		pdsCommand(), accountCommand(), migrateCommand(),
		lexiconCommand(),
	}
}

// NewApp builds the arbor application writing to env's streams.
func NewApp(env Env) *cli.App {
	app := &cli.App{
		Name:                 "arbor",
		Usage:                "inspect, verify, compare and build AT Protocol repositories offline",
		Version:              Version,
		HideHelpCommand:      false,
		EnableBashCompletion: false,
		Reader:               env.Stdin,
		Writer:               env.Stdout,
		ErrWriter:            env.Stderr,
		Commands:             Commands(),
		ExitErrHandler:       func(*cli.Context, error) {},
		OnUsageError:         onUsageError,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				name := c.Args().First()
				return usageErr("unknown command %q%s (see arbor help)", name, suggestCommand(name, c.App.Commands))
			}
			return cli.ShowAppHelp(c)
		},
	}
	setUsageErrors(app.Commands)
	return app
}

// setUsageErrors gives every command arbor's usage errors, and every
// command group (key, plc, ...) an action that names an unknown
// subcommand (urfave/cli would say "No help topic").
func setUsageErrors(cmds []*cli.Command) {
	for _, cmd := range cmds {
		if cmd.OnUsageError == nil {
			cmd.OnUsageError = onUsageError
		}
		if len(cmd.Subcommands) > 0 && cmd.Action == nil {
			cmd.Action = groupAction
		}
		setUsageErrors(cmd.Subcommands)
	}
}

// onUsageError reports a flag the parser refused, as --name (the flag
// package writes -name), with a suggestion for a misspelt one.
func onUsageError(c *cli.Context, err error, _ bool) error {
	msg := err.Error()
	for _, prefix := range []string{"flag provided but not defined: -", "flag needs an argument: -"} {
		name, ok := strings.CutPrefix(msg, prefix)
		if !ok {
			continue
		}
		msg = prefix[:len(prefix)-1] + flagName(name)
		if strings.HasPrefix(prefix, "flag provided") {
			var flags []cli.Flag
			if c.Command != nil {
				flags = c.Command.Flags
			}
			if len(flags) == 0 && c.App != nil {
				flags = c.App.Flags
			}
			var names []string
			for _, f := range flags {
				for _, n := range f.Names() {
					if len(n) > 1 {
						names = append(names, n)
					}
				}
			}
			if s := suggest(strings.TrimLeft(name, "-"), names); s != "" {
				msg += fmt.Sprintf(" (did you mean --%s?)", s)
			}
		}
		break
	}
	msg = strings.Replace(msg, "for flag -", "for flag --", 1)
	return usageErr("%s", msg)
}

// flagName writes a flag the way arbor's help does: -o, --output.
func flagName(name string) string {
	name = strings.TrimLeft(name, "-")
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// groupAction runs for a command group given no subcommand (its help) or
// one it does not have (a usage error with a suggestion).
func groupAction(c *cli.Context) error {
	if c.NArg() == 0 {
		return cli.ShowSubcommandHelp(c)
	}
	name := c.Args().First()
	return usageErr("unknown command %q for %q%s (see %s --help)", name, commandPath(c), suggestCommand(name, c.Command.Subcommands), commandPath(c))
}

// commandPath is the command being run as typed: "arbor key inspect".
func commandPath(c *cli.Context) string {
	if c.Command == nil {
		return "arbor"
	}
	if c.Command.HelpName != "" {
		return c.Command.HelpName
	}
	return "arbor " + c.Command.FullName()
}

// suggestCommand says `: did you mean "x"?` when name is close to one of
// cmds' names, and nothing otherwise.
func suggestCommand(name string, cmds []*cli.Command) string {
	var names []string
	for _, c := range cmds {
		if !c.Hidden {
			names = append(names, c.Names()...)
		}
	}
	if s := suggest(name, names); s != "" {
		return fmt.Sprintf("; did you mean %q?", s)
	}
	return ""
}

// suggest returns the candidate closest to s when it is close enough to be a
// typo of it (at most two edits, a swap of neighbours counting as one, and
// fewer edits than s has letters) or when s is the start of exactly one
// candidate; "" otherwise.
func suggest(s string, candidates []string) string {
	best, bestD := "", 3
	var prefixed []string
	for _, c := range candidates {
		if c == s {
			return ""
		}
		if len(s) >= 2 && strings.HasPrefix(c, s) {
			prefixed = append(prefixed, c)
		}
		d := editDistance(s, c)
		if d < bestD && d < len(s) {
			best, bestD = c, d
		}
	}
	if best == "" && len(prefixed) == 1 {
		return prefixed[0]
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of neighbours.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// Version is set at build time with -ldflags "-X ...commands.Version=...".
var Version = "dev"

// Run runs arbor with the given arguments (args[0] is the program name) and
// returns the exit code. Errors are printed as one line on Stderr.
func Run(args []string, env Env) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(env.Stderr, "arbor: internal error: %v\n", r)
			code = ExitUsage
		}
	}()
	app := NewApp(env)
	err := app.Run(reorderArgs(app, args))
	return report(env.Stderr, err)
}

func report(stderr io.Writer, err error) int {
	if err == nil {
		return ExitOK
	}
	var s silentExit
	if errors.As(err, &s) {
		return int(s)
	}
	code := ExitUsage
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	if name, ok := strings.CutPrefix(err.Error(), "No help topic for '"); ok {
		// urfave/cli's answer to `arbor help nope`.
		err = fmt.Errorf("unknown command %q (see arbor help)", strings.TrimSuffix(name, "'"))
	}
	msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
	fmt.Fprintf(stderr, "arbor: %s\n", msg)
	return code
}

// stdinName is the file argument that means standard input.
const stdinName = "-"

// openInput opens a file argument, or standard input for "-".
func openInput(c *cli.Context, name string) (io.ReadCloser, error) {
	if name == stdinName {
		return io.NopCloser(c.App.Reader), nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, inputErr(err)
	}
	return f, nil
}

// needArgs checks the number of positional arguments.
func needArgs(c *cli.Context, min, max int, usage string) error {
	n := c.NArg()
	if n < min || (max >= 0 && n > max) {
		return usageErr("usage: %s %s", commandPath(c), usage)
	}
	return nil
}
