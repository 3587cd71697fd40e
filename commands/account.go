package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/urfave/cli/v2"

	"github.com/arbor-atproto/arbor/account"
	"github.com/arbor-atproto/arbor/pdsclient"
	"github.com/arbor-atproto/arbor/plc"
)

func accountCommand() *cli.Command {
	return &cli.Command{
		Name:  "account",
		Usage: "identity tasks through your PDS: log in, status, add a rotation key you hold, change handle, PLC token, service auth",
		Description: "Each subcommand talks to the PDS as one account: --pds URL and --handle HANDLE with the\n" +
			"password from ARBOR_PASSWORD or --password-file, or the session `arbor account login` kept\n" +
			"(in the user configuration directory, mode 0600, tokens only). --plc-host is the did:plc\n" +
			"directory the DID lives in.",
		Subcommands: []*cli.Command{
			accountLoginCommand(), accountStatusCommand(), accountAddRotationKeyCommand(),
			accountUpdateHandleCommand(), accountRequestPLCTokenCommand(), accountServiceAuthCommand(),
		},
	}
}

func accountFlags(extra ...cli.Flag) []cli.Flag {
	return append([]cli.Flag{jsonFlag, hostFlag(),
		&cli.StringFlag{Name: "pds", Usage: "the PDS `URL` (with --handle: log in afresh instead of using the kept session)"},
		&cli.StringFlag{Name: "handle", Usage: "the account's handle or DID"},
		&cli.StringFlag{Name: "password-file", Usage: "read the password from the first line of `FILE` (default: ARBOR_PASSWORD)"},
	}, extra...)
}

// readPassword is --password-file's first line, or ARBOR_PASSWORD.
func readPassword(c *cli.Context) (string, error) {
	if f := c.String("password-file"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", usageErr("--password-file: %v", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if line = strings.TrimRight(line, "\r"); line == "" {
			return "", usageErr("--password-file %s: the first line is empty", f)
		}
		return line, nil
	}
	if pw := os.Getenv("ARBOR_PASSWORD"); pw != "" {
		return pw, nil
	}
	return "", usageErr("no password: set ARBOR_PASSWORD or give --password-file FILE")
}

// accountClient is the client of the account named by the flags: a new
// login with --pds, the kept session otherwise (refreshes are kept).
func accountClient(ctx context.Context, c *cli.Context) (*pdsclient.Client, error) {
	store, err := pdsclient.DefaultSessionStore()
	if err != nil {
		return nil, inputErr(err)
	}
	if c.IsSet("pds") {
		return loginWith(ctx, c, c.String("pds"))
	}
	s, err := store.Load(c.String("handle"))
	if err != nil {
		return nil, usageErr("%v; or give --pds URL --handle HANDLE", err)
	}
	cl := pdsclient.WithSession(s, nil)
	cl.OnRefresh = func(ns *pdsclient.Session) { store.Save(ns, false) }
	return cl, nil
}

func loginWith(ctx context.Context, c *cli.Context, pds string) (*pdsclient.Client, error) {
	if c.String("handle") == "" {
		return nil, usageErr("--pds needs --handle HANDLE")
	}
	pw, err := readPassword(c)
	if err != nil {
		return nil, err
	}
	cl := pdsclient.New(pds, nil)
	if _, err := cl.Login(ctx, c.String("handle"), pw); err != nil {
		return nil, remoteErr(err)
	}
	return cl, nil
}

// remoteErr is the exit of a failed call: 2 when the PDS could not be
// reached, 1 when it refused.
func remoteErr(err error) error {
	if errors.Is(err, pdsclient.ErrUnreachable) {
		return inputErr(err)
	}
	return &exitError{code: ExitFail, err: err}
}

func plcDirectory(c *cli.Context) *plc.Client { return &plc.Client{Host: c.String("plc-host")} }

func accountContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Minute)
}

// accountAction checks the arguments (n of them, then check when not
// nil), makes the account's client and runs fn with it.
func accountAction(n int, usage string, check func(c *cli.Context) error, fn func(ctx context.Context, c *cli.Context, cl *pdsclient.Client) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		if err := needArgs(c, n, n, usage); err != nil {
			return err
		}
		if check != nil {
			if err := check(c); err != nil {
				return err
			}
		}
		ctx, cancel := accountContext()
		defer cancel()
		cl, err := accountClient(ctx, c)
		if err != nil {
			return err
		}
		return fn(ctx, c, cl)
	}
}

func accountLoginCommand() *cli.Command {
	return &cli.Command{
		Name:      "login",
		Usage:     "log in and keep the session (tokens only, never the password) for the other commands",
		ArgsUsage: " ",
		Flags:     accountFlags(),
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 0, 0, "--pds URL --handle HANDLE [--password-file FILE]"); err != nil {
				return err
			}
			if !c.IsSet("pds") {
				return usageErr("usage: %s --pds URL --handle HANDLE [--password-file FILE]", commandPath(c))
			}
			ctx, cancel := accountContext()
			defer cancel()
			cl, err := loginWith(ctx, c, c.String("pds"))
			if err != nil {
				return err
			}
			store, err := pdsclient.DefaultSessionStore()
			if err != nil {
				return inputErr(err)
			}
			s := cl.Session()
			if err := store.Save(s, true); err != nil {
				return inputErr(fmt.Errorf("keeping the session: %w", err))
			}
			res := &pdsclient.LoginResult{DID: s.DID, Handle: s.Handle, PDS: s.PDS, SessionFile: store.Path}
			return printResult(c, res, func(w io.Writer, r *pdsclient.LoginResult) error {
				_, err := fmt.Fprintf(w, "logged in as %s (%s) at %s; session kept in %s\n", r.Handle, r.DID, r.PDS, r.SessionFile)
				return err
			})
		},
	}
}

func accountStatusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "the account on its PDS (checkAccountStatus) and its DID in the directory",
		ArgsUsage: " ",
		Flags:     accountFlags(),
		Action: accountAction(0, "[--pds URL --handle HANDLE] [--plc-host URL]", nil, func(ctx context.Context, c *cli.Context, cl *pdsclient.Client) error {
			st, err := account.GetStatus(ctx, cl, plcDirectory(c))
			if err != nil {
				return remoteErr(err)
			}
			return printResult(c, st, printAccountStatus)
		}),
	}
}

func printAccountStatus(w io.Writer, s *account.Status) error {
	a, d := s.Account, s.Document
	fmt.Fprintf(w, "account   %s (%s) at %s\n", s.Handle, s.DID, s.PDS)
	fmt.Fprintf(w, "active    %v   DID document valid for this PDS: %v\n", a.Activated, a.ValidDid)
	fmt.Fprintf(w, "repo      commit %s rev %s, %d blocks, %d records\n", a.RepoCommit, a.RepoRev, a.RepoBlocks, a.IndexedRecords)
	fmt.Fprintf(w, "blobs     %d expected, %d imported\n", a.ExpectedBlobs, a.ImportedBlobs)
	fmt.Fprintf(w, "document  handle %s, pds %s, signing key %s\n", d.Handle, d.PDS, d.SigningKey)
	for i, k := range d.RotationKeys {
		fmt.Fprintf(w, "rotation  %d %s\n", i, k)
	}
	_, err := fmt.Fprintf(w, "log       %d operations, head %s\n", d.Operations, d.HeadCID)
	return err
}

func accountAddRotationKeyCommand() *cli.Command {
	return &cli.Command{
		Name:      "add-rotation-key",
		Usage:     "add a rotation key you hold to your did:plc, signed by the PDS (needs the mailed PLC token)",
		ArgsUsage: "PUBKEY",
		Description: "PUBKEY is a did:key or a key file. Without --plc-token the PDS is asked to mail the token and\n" +
			"the command exits 1 saying so; rerun with --plc-token TOKEN. The key goes in front of the\n" +
			"PDS's rotation key (or of every key with --first), so that it can nullify the PDS's\n" +
			"operations within 72 hours (arbor plc rollback --mode nullify --sign-with KEY).",
		Flags: accountFlags(plcTokenFlag(), &cli.BoolFlag{Name: "first", Usage: "put the key in front of every rotation key"}),
		Action: accountAction(1, "PUBKEY [--first] [--plc-token TOKEN]", func(c *cli.Context) error {
			_, err := loadDIDKey("PUBKEY", c.Args().First())
			return err
		}, func(ctx context.Context, c *cli.Context, cl *pdsclient.Client) error {
			key, _ := loadDIDKey("PUBKEY", c.Args().First())
			req := account.RotationRequest{Key: key, First: c.Bool("first"), Token: c.String("plc-token")}
			res, err := account.AddRotationKey(ctx, cl, plcDirectory(c), req, time.Now())
			if errors.Is(err, account.ErrNeedPLCToken) {
				return tokenRequested(c, res, err)
			}
			if err != nil {
				return remoteErr(err)
			}
			return printResult(c, res, func(w io.Writer, r *account.RotationChange) error {
				_, err := fmt.Fprintf(w, "added %s as rotation key %d of %s (operation %s)\n", r.Key, r.Position, r.DID, r.OperationCID)
				return err
			})
		}),
	}
}

func plcTokenFlag() cli.Flag {
	return &cli.StringFlag{Name: "plc-token", Usage: "the PLC token the PDS mailed"}
}

// tokenRequested prints what was done (the token was asked for) and exits
// 1 with the message.
func tokenRequested[R any](c *cli.Context, res R, err error) error {
	if c.Bool("json") {
		if perr := printResult(c, res, nil); perr != nil {
			return perr
		}
	}
	return &exitError{code: ExitFail, err: err}
}

func accountUpdateHandleCommand() *cli.Command {
	return &cli.Command{
		Name:      "update-handle",
		Usage:     "change the account's handle (the PDS signs the did:plc operation)",
		ArgsUsage: "NEW-HANDLE",
		Flags:     accountFlags(),
		Action: accountAction(1, "NEW-HANDLE", func(c *cli.Context) error {
			_, err := newHandleArg(c)
			return err
		}, func(ctx context.Context, c *cli.Context, cl *pdsclient.Client) error {
			h, _ := newHandleArg(c)
			res, err := account.UpdateHandle(ctx, cl, plcDirectory(c), h)
			if err != nil {
				return remoteErr(err)
			}
			return printResult(c, res, func(w io.Writer, r *account.HandleChange) error {
				_, err := fmt.Fprintf(w, "%s is now %s (operation %s)\n", r.DID, r.Handle, r.HeadCID)
				return err
			})
		}),
	}
}

func newHandleArg(c *cli.Context) (syntax.Handle, error) {
	h, err := syntax.ParseHandle(strings.TrimPrefix(c.Args().First(), "@"))
	if err != nil {
		return "", usageErr("%q is not a handle: %v", c.Args().First(), err)
	}
	return h.Normalize(), nil
}

func accountRequestPLCTokenCommand() *cli.Command {
	return &cli.Command{
		Name:      "request-plc-token",
		Usage:     "ask the PDS to mail a PLC token (for add-rotation-key, arbor migrate)",
		ArgsUsage: " ",
		Flags:     accountFlags(),
		Action: accountAction(0, "[--pds URL --handle HANDLE]", nil, func(ctx context.Context, c *cli.Context, cl *pdsclient.Client) error {
			res, err := account.RequestPLCToken(ctx, cl)
			if err != nil {
				return remoteErr(err)
			}
			return printResult(c, res, func(w io.Writer, r *account.TokenRequest) error {
				_, err := fmt.Fprintf(w, "the PDS mailed a PLC token for %s to the account's address\n", r.DID)
				return err
			})
		}),
	}
}

func accountServiceAuthCommand() *cli.Command {
	return &cli.Command{
		Name:      "service-auth",
		Usage:     "get a service-auth token from the PDS for another service",
		ArgsUsage: " ",
		Flags: accountFlags(
			&cli.StringFlag{Name: "aud", Usage: "the service's DID (or DID#service)"},
			&cli.StringFlag{Name: "lxm", Usage: "the one method the token is good for"},
			&cli.DurationFlag{Name: "ttl", Usage: "how long it lasts (at most 1h, 1m without --lxm; default the PDS's 60s)"},
		),
		Action: accountAction(0, "--aud DID [--lxm NSID] [--ttl DURATION]", func(c *cli.Context) error {
			if c.String("aud") == "" {
				return usageErr("usage: %s --aud DID [--lxm NSID] [--ttl DURATION]", commandPath(c))
			}
			return nil
		}, func(ctx context.Context, c *cli.Context, cl *pdsclient.Client) error {
			var exp time.Time
			if d := c.Duration("ttl"); d > 0 {
				exp = time.Now().Add(d)
			}
			res, err := account.GetServiceToken(ctx, cl, c.String("aud"), c.String("lxm"), exp)
			if err != nil {
				return remoteErr(err)
			}
			return printResult(c, res, func(w io.Writer, r *account.ServiceToken) error {
				_, err := fmt.Fprintln(w, r.Token)
				return err
			})
		}),
	}
}
