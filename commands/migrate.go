package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/arbor-atproto/arbor/account"
	"github.com/arbor-atproto/arbor/migrate"
	"github.com/arbor-atproto/arbor/repo"
)

func migrateCommand() *cli.Command {
	return &cli.Command{
		Name:      "migrate",
		Usage:     "move an account to another PDS, keeping its did:plc (resumable; also from a backup)",
		ArgsUsage: " ",
		Description: "Plans the whole move and prints the plan before anything is written, then runs it step by\n" +
			"step: create the account on the new PDS, import the repository, copy every blob (then\n" +
			"listMissingBlobs must be empty) and the preferences, have the old PDS sign the did:plc\n" +
			"operation (with the PLC token it mails: without --plc-token the command stops, exit 1;\n" +
			"rerun with --plc-token TOKEN), submit it, activate the new account, deactivate the old, and\n" +
			"check the result. --state FILE records each finished step: a rerun with it resumes. The new\n" +
			"operation keeps your own rotation keys and other services; it refuses to drop a rotation key\n" +
			"unless --drop-rotation-key. Without the old PDS: --from-backup DIR (a repository .car and\n" +
			"its blobs, as arbor fetch writes them) with --rotation-key KEYFILE, a rotation key you hold,\n" +
			"which signs the operations offline. The password is ARBOR_PASSWORD or --password-file.\n" +
			"Between two arbor pds serve instances: give them different --hostname (the service DID a\n" +
			"token is addressed to is did:web:HOSTNAME) and start the second with --plc http://FIRST, so\n" +
			"both use one directory (two embedded directories cannot share a DID).",
		Flags: []cli.Flag{jsonFlag, hostFlag(), plcTokenFlag(),
			&cli.StringFlag{Name: "from", Usage: "the old PDS `URL`"},
			&cli.StringFlag{Name: "to", Usage: "the new PDS `URL`"},
			&cli.StringFlag{Name: "handle", Usage: "the account (handle or DID) on the old PDS"},
			&cli.StringFlag{Name: "password-file", Usage: "read the password from the first line of `FILE` (default: ARBOR_PASSWORD)"},
			&cli.StringFlag{Name: "new-handle", Usage: "the handle on the new PDS (default: --handle)"},
			&cli.StringFlag{Name: "email", Usage: "the new account's email (default: the old one's)"},
			&cli.StringFlag{Name: "invite", Usage: "invite code for the new PDS"},
			&cli.StringFlag{Name: "state", Usage: "record finished steps in `FILE`; rerun with it to resume"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the plan; change nothing"},
			&cli.BoolFlag{Name: "drop-rotation-key", Usage: "allow the new operation to leave out rotation keys other than the old PDS's"},
			&cli.StringFlag{Name: "from-backup", Usage: "move from a backup `DIR` instead of the old PDS"},
			&cli.StringFlag{Name: "rotation-key", Usage: "with --from-backup: your rotation key (`KEYFILE` or multibase)"},
		},
		Action: runMigrate,
	}
}

func migrateOptions(c *cli.Context) (migrate.Options, error) {
	o := migrate.Options{From: c.String("from"), To: c.String("to"), Handle: c.String("handle"), NewHandle: c.String("new-handle"),
		Email: c.String("email"), Invite: c.String("invite"), PLCHost: c.String("plc-host"), PLCToken: c.String("plc-token"),
		DropRotationKeys: c.Bool("drop-rotation-key"), FromBackup: c.String("from-backup"), StatePath: c.String("state"), DryRun: c.Bool("dry-run")}
	const usage = "--from URL --to URL --handle HANDLE [--state FILE] [--plc-token TOKEN] | --from-backup DIR --rotation-key KEY --to URL --new-handle HANDLE"
	if o.To == "" || (o.FromBackup == "" && (o.From == "" || o.Handle == "")) || (o.FromBackup != "" && o.Handle == "" && o.NewHandle == "") {
		return o, usageErr("usage: %s %s", commandPath(c), usage)
	}
	if o.FromBackup != "" {
		if !c.IsSet("rotation-key") {
			return o, usageErr("--from-backup needs --rotation-key KEYFILE, a rotation key of the DID you hold")
		}
		k, err := repo.LoadPrivateKey(c.String("rotation-key"))
		if err != nil {
			return o, usageErr("--rotation-key: %v", err)
		}
		o.RotationKey = k
	}
	pw, err := readPassword(c)
	o.Password = pw
	return o, err
}

func runMigrate(c *cli.Context) error {
	if err := needArgs(c, 0, 0, "--from URL --to URL --handle HANDLE"); err != nil {
		return err
	}
	opts, err := migrateOptions(c)
	if err != nil {
		return err
	}
	if !c.Bool("json") {
		opts.Progress = func(step, status string) { fmt.Fprintf(c.App.ErrWriter, "migrate: %s: %s\n", step, status) }
		// The plan is shown before anything is written.
		opts.OnPlan = func(p *migrate.Plan) { printPlanOf(c.App.Writer, p) }
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	rep, err := migrate.Run(ctx, opts)
	if rep != nil && rep.Plan != nil {
		if perr := printResult(c, rep, printMigration); perr != nil {
			return perr
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, account.ErrNeedPLCToken), errors.Is(err, migrate.ErrChecksFailed), errors.Is(err, migrate.ErrAlreadyHosted):
		return &exitError{code: ExitFail, err: err}
	case errors.Is(err, migrate.ErrStateMismatch):
		return inputErr(err)
	}
	return remoteErr(err)
}

// printMigration prints the steps and checks (the plan was printed by
// OnPlan).
func printMigration(w io.Writer, r *migrate.Report) error {
	for _, s := range r.Steps {
		fmt.Fprintf(w, "step %-24s %s %s\n", s.Name, s.Status, s.Detail)
	}
	for _, ch := range r.Checks {
		mark := "ok  "
		if !ch.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "check %s %s: %s\n", mark, ch.Name, ch.Detail)
	}
	if r.DryRun {
		_, err := fmt.Fprintln(w, "dry run: nothing was changed")
		return err
	}
	return nil
}

func printPlanOf(w io.Writer, p *migrate.Plan) {
	from := p.OldPDS
	if p.FromBackup != "" {
		from = "backup " + p.FromBackup
	}
	fmt.Fprintf(w, "move %s (%s) from %s to %s (%s) as %s\n", p.DID, p.OldHandle, from, p.NewPDS, p.NewPDSDID, p.NewHandle)
	fmt.Fprintf(w, "copy: %d records, %d blobs, %d preferences\n", p.Records, p.Blobs, p.Preferences)
	op := p.Operation
	fmt.Fprintf(w, "did:plc operation, signed by %s:\n", op.SignedBy)
	for i, k := range op.RotationKeys {
		fmt.Fprintf(w, "  rotation key %d  %s\n", i, k)
	}
	for _, k := range op.Replaced {
		fmt.Fprintf(w, "  replaces       %s (the old PDS's)\n", k)
	}
	for _, k := range op.Dropped {
		fmt.Fprintf(w, "  drops          %s\n", k)
	}
	fmt.Fprintf(w, "  handle         %v\n  #atproto       %s\n  #atproto_pds   %s\n", op.AlsoKnownAs, op.VerificationMethods["atproto"], op.Services["atproto_pds"].Endpoint)
}
