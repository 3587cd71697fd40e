package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/arbor-atproto/arbor/backup"
	"github.com/arbor-atproto/arbor/identity"
	"github.com/arbor-atproto/arbor/pdsclient"
)

func backupCommand() *cli.Command {
	return &cli.Command{
		Name:  "backup",
		Usage: "keep a complete, incremental, verified backup of an account in a directory",
		Description: "Resolves HANDLE|DID (checked both ways when named by a handle) and brings DIR up to date:\n" +
			"repo.car (verified against the DID document's key before it replaces the old one),\n" +
			"did.json, for did:plc plc-audit.json (validated), blobs/CID (each checked against its\n" +
			"CID), preferences.json when logged in (arbor account login) and manifest.json (see\n" +
			"docs/backup.md). A rerun asks getLatestCommit first and does\n" +
			"nothing more when the commit is unchanged; otherwise it fetches getRepo?since=REV,\n" +
			"applies the slice and verifies the result (a full download when the PDS cannot serve\n" +
			"since), and downloads only new blobs. A blob that fails is recorded and retried on the\n" +
			"next run. 429 answers and RateLimit-* headers are waited out; --max-rps caps requests.\n" +
			"An interrupted run leaves the previous backup whole and keeps the blobs it wrote.\n" +
			"Exit 1 when blobs failed (everything else is kept) or a download does not verify;\n" +
			"2 for bad input, a DIR that is not a backup, or when the network fails.",
		ArgsUsage: "HANDLE|DID DIR",
		Flags: append([]cli.Flag{
			jsonFlag,
			&cli.Float64Flag{Name: "max-rps", Usage: "at most this many requests a second (0: no cap)"},
			&cli.IntFlag{Name: "parallel", Usage: "blobs downloaded at a time", Value: backup.DefaultWorkers},
			&cli.BoolFlag{Name: "blobs", Usage: "download the blobs (the default)"},
			&cli.BoolFlag{Name: "no-blobs", Usage: "record the blobs in the manifest without downloading them"},
			&cli.BoolFlag{Name: "prune", Usage: "remove blobs no record references and the PDS no longer lists"},
		}, downloadFlags()...),
		Action:      runBackup,
		Subcommands: []*cli.Command{backupVerifyCommand()},
	}
}

func runBackup(c *cli.Context) error {
	if err := needArgs(c, 2, 2, "HANDLE|DID DIR"); err != nil {
		return err
	}
	input, dir := c.Args().Get(0), c.Args().Get(1)
	if c.Bool("blobs") && c.Bool("no-blobs") {
		return usageErr("--blobs and --no-blobs contradict each other")
	}
	if c.Float64("max-rps") < 0 {
		return usageErr("--max-rps must not be negative")
	}
	if c.Int("parallel") < 1 {
		return usageErr("--parallel must be at least 1")
	}
	o, err := backupOptions(c, input)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	prog := startStatus(c.App.ErrWriter, "backup of "+input)
	o.Progress = backupProgress(prog)
	s, err := backup.Run(ctx, input, dir, o)
	prog.Stop()
	if err != nil {
		if ctx.Err() != nil {
			return inputErr(fmt.Errorf("interrupted (%v): %s left as it was, blobs already written kept", context.Cause(ctx), dir))
		}
		return backupErr(err, dir)
	}
	if err := printResult(c, s, printBackup); err != nil {
		return err
	}
	if s.BlobListError != "" {
		return failErr("%s", s.BlobListError)
	}
	if f := s.Blobs.Failed; len(f) > 0 {
		return failErr("%d of %d blobs failed, retried on the next run (first: %s: %s)", len(f), s.Blobs.Total, f[0].CID, f[0].Error)
	}
	return nil
}

// backupOptions reads the flags, and the kept session of the account
// (arbor account login) for its preferences, when there is one.
func backupOptions(c *cli.Context, input string) (backup.Options, error) {
	res, err := fetchResolver(c)
	if err != nil {
		return backup.Options{}, err
	}
	res.Pace = &identity.Pacer{MaxRPS: c.Float64("max-rps")}
	o := backup.Options{Resolver: res, NoBlobs: c.Bool("no-blobs"), Prune: c.Bool("prune"), Workers: c.Int("parallel")}
	st, err := pdsclient.DefaultSessionStore()
	if err != nil {
		return o, nil // no configuration directory: nobody is logged in
	}
	s, err := st.Load(strings.TrimPrefix(input, "@"))
	if errors.Is(err, pdsclient.ErrNoSession) {
		return o, nil
	}
	if err != nil {
		return o, inputErr(fmt.Errorf("the kept sessions: %w", err))
	}
	o.Preferences = pdsclient.WithSession(s, res.HTTPClient)
	o.Preferences.OnRefresh = func(ns *pdsclient.Session) { st.Save(ns, false) }
	return o, nil
}

// backupProgress shows each phase of a run on the progress line.
func backupProgress(prog *progress) func(phase string, done, total int64) {
	var n atomic.Int64
	label := ""
	return func(phase string, d, total int64) {
		n.Store(d)
		if phase != label {
			label = phase
			unit := ""
			if phase == "blobs" {
				unit = "blobs"
			}
			prog.Phase(phase, total, unit, n.Load)
		}
	}
}

// backupErr gives a failed run its exit code: 1 for what did not check
// out (identity, downloads), 2 for bad usage, bad input and the network.
func backupErr(err error, dir string) error {
	for _, fail := range []error{backup.ErrRejected, backup.ErrOtherAccount, identity.ErrHandleMismatch, identity.ErrNoPDS, identity.ErrNoAtprotoKey} {
		if errors.Is(err, fail) {
			return failErr("%v (%s left as it was)", err, dir)
		}
	}
	if errors.Is(err, identity.ErrInvalidHandle) || errors.Is(err, identity.ErrInvalidDID) || errors.Is(err, identity.ErrUnsupportedDID) {
		return usageErr("%v", err)
	}
	return inputErr(fmt.Errorf("%w (%s left as it was)", downloadHint(err, "--max-size"), dir))
}

func printBackup(w io.Writer, s *backup.Summary) error {
	p := newPainter(w)
	who := s.DID
	if s.HandleVerified {
		who += " (" + s.Handle + ")"
	}
	what := s.Mode
	if s.Mode == backup.ModeSlice {
		what = "since slice after " + s.PrevRev
	}
	fmt.Fprintf(w, "%s %s: %s from %s: %s, rev %s, %s, %s downloaded\n", p.green("✓"), s.Dir, who, s.PDS, what, s.Rev, count(s.Records, "record"), humanBytes(s.Bytes))
	if s.Fallback != "" {
		fmt.Fprintf(w, "  full download because the slice failed: %s\n", s.Fallback)
	}
	if s.Recovered != "" {
		fmt.Fprintf(w, "  %s\n", s.Recovered)
	}
	b := s.Blobs
	if s.BlobListError != "" {
		fmt.Fprintf(w, "%s %s\n", p.red("✗"), s.BlobListError)
	}
	fmt.Fprintf(w, "  blobs: %s (%d fetched, %d already stored, %d skipped, %d pruned, %d failed)\n", num(b.Total), b.Fetched, b.Kept, b.Skipped, b.Pruned, len(b.Failed))
	for _, f := range b.Failed {
		fmt.Fprintf(w, "%s blob %s: %s (referenced by %s)\n", p.red("✗"), f.CID, f.Error, orNone(strings.Join(f.Records, ", ")))
	}
	fmt.Fprintf(w, "  preferences: %s\n", s.Preferences)
	fmt.Fprintf(w, "  requests: %d (%d rate-limited)\n", s.Requests, s.RateLimited)
	return nil
}

func backupVerifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "check a backup offline: files against the manifest, the repository, every blob, the audit log",
		Description: "Checks DIR (written by arbor backup) without the network: every file's size and SHA-256\n" +
			"against manifest.json; repo.car fully (every block, commit DID and signature against\n" +
			"did.json's key, or with --resolve the live DID document's, MST, records); every blob file\n" +
			"against its CID; every blob a record references present (or listed missing with the\n" +
			"records that need it); the audit log validates and ends in did.json.\n" +
			"Exit 1 with every problem listed; 2 when DIR is not a backup.",
		ArgsUsage: "DIR",
		Flags: append([]cli.Flag{
			jsonFlag,
			&cli.BoolFlag{Name: "resolve", Usage: "check against the DID document resolved now (needs the network)"},
		}, netFlags()...),
		Action: runBackupVerify,
	}
}

func runBackupVerify(c *cli.Context) error {
	if err := needArgs(c, 1, 1, "DIR"); err != nil {
		return err
	}
	var o backup.VerifyOptions
	if c.Bool("resolve") {
		res, err := newResolver(c)
		if err != nil {
			return err
		}
		o.Resolver = res
	}
	prog := startStatus(c.App.ErrWriter, "verifying "+c.Args().First())
	rep, err := backup.Verify(c.Context, c.Args().First(), o)
	prog.Stop()
	if err != nil {
		return inputErr(err)
	}
	if err := printResult(c, rep, printBackupVerify); err != nil {
		return err
	}
	if !rep.Valid() {
		return failErr("%s: %d problems, first: %s", rep.Dir, len(rep.Problems), rep.Problems[0])
	}
	return nil
}

func printBackupVerify(w io.Writer, r *backup.VerifyReport) error {
	p := newPainter(w)
	mark := p.green("✓")
	if !r.Valid() {
		mark = p.red("✗")
	}
	fmt.Fprintf(w, "%s %s: backup of %s, rev %s: %s, %s checked, %d missing\n", mark, r.Dir, r.DID, r.Rev, count(r.Records, "record"), count(r.Blobs, "blob"), len(r.Missing))
	fmt.Fprintf(w, "  checked: %s\n", joinComma(r.Checked))
	for _, pr := range r.Problems {
		fmt.Fprintf(w, "%s %s\n", p.red("✗"), pr)
	}
	return nil
}
