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
func inputErr(err error) error {
	if err == nil {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	return &exitError{code: ExitUsage, err: err}
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
		resolveCommand(), fetchCommand(),
		mstCommand(), viewCommand(),
		pdsCommand(),
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
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return usageErr("%v", err)
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErr("unknown command %q (see arbor help)", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
	}
	setUsageErrors(app.Commands)
	return app
}

func setUsageErrors(cmds []*cli.Command) {
	for _, cmd := range cmds {
		if cmd.OnUsageError == nil {
			cmd.OnUsageError = func(c *cli.Context, err error, _ bool) error {
				return usageErr("%v", err)
			}
		}
		setUsageErrors(cmd.Subcommands)
	}
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
		return usageErr("usage: arbor %s %s", c.Command.FullName(), usage)
	}
	return nil
}
