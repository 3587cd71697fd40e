package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/arbor-atproto/arbor/plc"
	"github.com/arbor-atproto/arbor/repo"
	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/urfave/cli/v2"
)

// PLCCommand is `arbor plc`: create, update, roll back and audit did:plc
// identities. Only history and submit use the network.
func PLCCommand() *cli.Command {
	return &cli.Command{
		Name:  "plc",
		Usage: "create, update, roll back and audit did:plc identities",
		Subcommands: []*cli.Command{
			plcGenesisCommand(),
			plcDIDCommand(),
			plcUpdateCommand(),
			plcRollbackCommand(),
			plcVerifyCommand(),
			plcHistoryCommand(),
			plcSubmitCommand(),
		},
	}
}

const maxPLCInput = 64 << 20

var (
	signWithFlag = &cli.StringFlag{Name: "sign-with", Usage: "private rotation key to sign with (file or multibase)"}
	nowFlag      = &cli.StringFlag{Name: "now", Usage: "the time the directory will receive the operation (RFC 3339; default: now)"}
	outFlag      = &cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "also write the operation as {did, cid, prev, operation} to this file, which plc update, plc did and plc submit read"}
)

// hostFlag is --plc-host, made anew for each command: urfave/cli writes
// the value it reads from ARBOR_PLC_HOST into the flag itself, which would
// then be every later app's default.
func hostFlag() cli.Flag {
	return &cli.StringFlag{Name: "plc-host", Usage: "directory URL", EnvVars: []string{"ARBOR_PLC_HOST"}, Value: plc.DefaultHost}
}

func readPLCInput(c *cli.Context, name string) ([]byte, error) {
	f, err := openInput(c, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPLCInput+1))
	if err != nil {
		return nil, inputErr(fmt.Errorf("%s: %w", name, err))
	}
	if len(b) > maxPLCInput {
		return nil, usageErr("%s: larger than %d bytes", name, maxPLCInput)
	}
	return b, nil
}

// readLog reads and validates a log file. A log that does not parse exits 2;
// one that does not validate is returned as a failure (exit 1).
func readLog(c *cli.Context, name, didFlag string) (*plc.State, []plc.LogEntry, error) {
	var did syntax.DID
	if didFlag != "" {
		d, err := plc.ParseDID(didFlag)
		if err != nil {
			return nil, nil, usageErr("--did: %v", err)
		}
		did = d
	}
	b, err := readPLCInput(c, name)
	if err != nil {
		return nil, nil, err
	}
	entries, err := parseLogArg(b)
	if err != nil {
		return nil, nil, inputErr(fmt.Errorf("%s: %w", displayName(name), err))
	}
	st, err := plc.ValidateLog(did, entries)
	if err != nil {
		return nil, entries, &exitError{code: ExitFail, err: fmt.Errorf("%s: %w", name, err)}
	}
	return st, entries, nil
}

// parseLogArg reads a log: an audit log or a list of operations (a JSON
// array), or a single genesis operation, bare or as {did, operation, ...}
// (what plc genesis prints and writes with -o), which is a log of one.
func parseLogArg(b []byte) ([]plc.LogEntry, error) {
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return plc.ParseLog(b)
	}
	op, did, err := parseOpArg(b)
	if err != nil {
		return nil, err
	}
	if !op.IsGenesis() {
		return nil, fmt.Errorf("%w: a single %s on top of %s, not a log: give the whole log (plc history --raw, or the directory's /log/audit)", plc.ErrMalformedOp, op.Type, op.Prev)
	}
	if did != "" {
		if got, err := plc.DIDFromGenesis(op); err == nil && got.String() != did {
			return nil, fmt.Errorf("%w: the file says %s, the genesis operation is of %s", plc.ErrLogDIDMismatch, did, got)
		}
	}
	return []plc.LogEntry{{Operation: op}}, nil
}

func loadSigner(c *cli.Context) (atcrypto.PrivateKey, error) {
	if !c.IsSet("sign-with") {
		return nil, usageErr("--sign-with KEY is required")
	}
	k, err := repo.LoadPrivateKey(c.String("sign-with"))
	if err != nil {
		return nil, usageErr("--sign-with: %v", err)
	}
	return k, nil
}

func loadDIDKey(flag, arg string) (string, error) {
	k, err := repo.LoadPublicKey(arg)
	if err != nil {
		return "", usageErr("--%s: %v", flag, err)
	}
	return k.DIDKey(), nil
}

// signingArgs reads what signs a new operation on a log: --sign-with and
// --now (the operation's time, by default the clock's).
func signingArgs(c *cli.Context) (atcrypto.PrivateKey, time.Time, error) {
	signer, err := loadSigner(c)
	if err != nil {
		return nil, time.Time{}, err
	}
	now, err := nowArg(c)
	return signer, now, err
}

func nowArg(c *cli.Context) (time.Time, error) {
	if !c.IsSet("now") {
		return time.Now().UTC(), nil
	}
	t, err := plc.ParseTime(c.String("now"))
	if err != nil {
		return time.Time{}, usageErr("--now %q: %v", c.String("now"), err)
	}
	return t, nil
}

// writeOpFile writes -o: the operation with its DID ({did, cid, prev,
// operation}, as --json prints it), so that the next step (plc update on a
// genesis, plc submit, plc did) needs nothing else. The bare operation, as
// the directory receives it, is its "operation" member.
func writeOpFile(c *cli.Context, did syntax.DID, op *plc.Operation) error {
	if !c.IsSet("out") {
		return nil
	}
	b, err := json.MarshalIndent(plc.NewSignedOp(did, op), "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(c.String("out"), append(b, '\n'), 0o644); err != nil {
		return inputErr(err)
	}
	return nil
}

// printOp prints a signed operation on standard output: as {did, cid,
// prev, operation} with --json, otherwise the bare operation (what the
// directory receives); the summary and the DID go to standard error.
func printOp(c *cli.Context, did syntax.DID, op *plc.Operation, summary string) error {
	if err := checkOverwrite(c.String("out"), c.Bool("force")); err != nil {
		return err
	}
	if err := writeOpFile(c, did, op); err != nil {
		return err
	}
	if !c.Bool("json") {
		fmt.Fprintf(c.App.ErrWriter, "%s\ndid: %s\ncid: %s\n", summary, did, op.CID())
	}
	return printResult(c, plc.NewSignedOp(did, op), printBareOp)
}

// printBareOp prints the operation alone, as the directory receives it.
func printBareOp(w io.Writer, o plc.SignedOp) error {
	var v any
	_ = json.Unmarshal(o.Operation, &v)
	return printJSON(w, v)
}

func plcGenesisCommand() *cli.Command {
	return &cli.Command{
		Name:  "genesis",
		Usage: "create and sign a genesis operation; prints it and the DID",
		Description: "Prints the signed operation on standard output (with --json as {did, cid, prev,\n" +
			"operation}), the DID on standard error. -o FILE writes the {did, cid, prev, operation}\n" +
			"form, which plc update (as a log of one operation), plc did and plc submit read.",
		Flags: []cli.Flag{
			jsonFlag,
			&cli.StringSliceFlag{Name: "rotation-key", Usage: "rotation key (public or private, file or multibase), highest priority first; repeat"},
			&cli.StringFlag{Name: "signing-key", Usage: "atproto signing key (public or private, file or multibase)"},
			&cli.StringFlag{Name: "handle", Usage: "handle, e.g. alice.example.com"},
			&cli.StringFlag{Name: "pds", Usage: "PDS endpoint URL"},
			signWithFlag, outFlag, forceFlag,
		},
		Action: plcGenesis,
	}
}

func plcGenesis(c *cli.Context) error {
	if err := needArgs(c, 0, 0, "--rotation-key K... --signing-key K --handle H --pds URL --sign-with K"); err != nil {
		return err
	}
	signer, err := loadSigner(c)
	if err != nil {
		return err
	}
	var p plc.GenesisParams
	if p.RotationKeys, err = loadDIDKeys(c, "rotation-key"); err != nil {
		return err
	}
	if len(p.RotationKeys) == 0 {
		return usageErr("at least one --rotation-key is required")
	}
	if c.IsSet("signing-key") {
		if p.SigningKey, err = loadDIDKey("signing-key", c.String("signing-key")); err != nil {
			return err
		}
	}
	p.Handle, p.PDS = c.String("handle"), c.String("pds")
	op, did, err := plc.NewGenesis(p, signer)
	if err != nil {
		return usageErr("%v", err)
	}
	return printOp(c, did, op, "genesis operation")
}

// loadDIDKeys reads the keys of a repeated key flag as did:keys.
func loadDIDKeys(c *cli.Context, flag string) ([]string, error) {
	var out []string
	for _, k := range c.StringSlice(flag) {
		dk, err := loadDIDKey(flag, k)
		if err != nil {
			return nil, err
		}
		out = append(out, dk)
	}
	return out, nil
}

func plcDIDCommand() *cli.Command {
	return &cli.Command{
		Name:      "did",
		Usage:     "the DID of a signed genesis operation (checks its signature too)",
		ArgsUsage: "OP.json|-",
		Flags:     []cli.Flag{jsonFlag},
		Action:    plcDID,
	}
}

func plcDID(c *cli.Context) error {
	if err := needArgs(c, 1, 1, "OP.json|-"); err != nil {
		return err
	}
	b, err := readPLCInput(c, c.Args().First())
	if err != nil {
		return err
	}
	op, _, err := parseOpArg(b)
	if err != nil {
		return inputErr(err)
	}
	res, err := plc.CheckGenesis(op)
	if err != nil {
		return inputErr(err)
	}
	if err := printResult(c, res, func(w io.Writer, res *plc.GenesisCheck) error {
		_, err := fmt.Fprintln(w, res.DID)
		return err
	}); err != nil {
		return err
	}
	switch {
	case res.Valid:
		return nil
	case c.Bool("json"):
		return silentExit(ExitFail)
	}
	return failErr("the genesis operation does not validate: %v", res.Err())
}

// parseOpArg accepts a bare operation or the {did, operation, ...} form
// that --json and the directory's logs use, returning the DID when given.
func parseOpArg(b []byte) (*plc.Operation, string, error) {
	var probe struct {
		DID       string          `json:"did"`
		Operation json.RawMessage `json:"operation"`
	}
	if json.Unmarshal(b, &probe) == nil && len(probe.Operation) > 0 {
		op, err := plc.ParseOperation(probe.Operation)
		return op, probe.DID, err
	}
	op, err := plc.ParseOperation(b)
	return op, "", err
}

func plcUpdateCommand() *cli.Command {
	return &cli.Command{
		Name:  "update",
		Usage: "the next operation on top of a log, checked against it before it is printed",
		Description: "LOG is an audit log, a list of operations, or a single genesis operation (what plc\n" +
			"genesis -o writes). Prints the signed operation on standard output (with --json as\n" +
			"{did, cid, prev, operation}), a summary on standard error. -o FILE writes the\n" +
			"{did, cid, prev, operation} form, which plc submit reads without --did.",
		ArgsUsage: "LOG.json|-",
		Flags:     plcUpdateFlags(),
		Action:    plcUpdate,
	}
}

func plcUpdateFlags() []cli.Flag {
	return []cli.Flag{
		jsonFlag, signWithFlag, nowFlag, outFlag, forceFlag,
		&cli.StringFlag{Name: "did", Usage: "the DID the log must be for"},
		&cli.StringFlag{Name: "handle", Usage: "new handle"},
		&cli.StringFlag{Name: "pds", Usage: "new PDS endpoint"},
		&cli.StringFlag{Name: "signing-key", Usage: "new atproto signing key (public or private, file or multibase)"},
		&cli.StringSliceFlag{Name: "add-rotation-key", Usage: "add a rotation key (lowest priority unless --first); repeat"},
		&cli.BoolFlag{Name: "first", Usage: "add the new rotation keys at the highest priority"},
		&cli.StringSliceFlag{Name: "remove-rotation-key", Usage: "remove a rotation key; repeat"},
		&cli.BoolFlag{Name: "tombstone", Usage: "deactivate the DID"},
	}
}

func plcUpdate(c *cli.Context) error {
	if err := needArgs(c, 1, 1, "LOG.json|- --sign-with K [--handle H] [--pds URL] [--signing-key K] [--add-rotation-key K] [--remove-rotation-key K] [--tombstone]"); err != nil {
		return err
	}
	signer, now, err := signingArgs(c)
	if err != nil {
		return err
	}
	u, err := updateArgs(c)
	if err != nil {
		return err
	}
	st, _, err := readLog(c, c.Args().First(), c.String("did"))
	if err != nil {
		return err
	}
	op, err := plc.NextOperation(st, u, signer, now)
	if err != nil {
		if errors.Is(err, plc.ErrNoChange) || errors.Is(err, plc.ErrMalformedOp) || errors.Is(err, plc.ErrBadDIDKey) || errors.Is(err, plc.ErrLimit) {
			return usageErr("%v", err)
		}
		return failErr("%v", err)
	}
	return printOp(c, st.DID, op, fmt.Sprintf("next operation on %s", st.HeadCID()))
}

// updateArgs reads plc update's changes from its flags.
func updateArgs(c *cli.Context) (plc.Update, error) {
	u := plc.Update{Handle: c.String("handle"), PDS: c.String("pds"), Tombstone: c.Bool("tombstone"), AddFirst: c.Bool("first")}
	var err error
	if c.IsSet("signing-key") {
		if u.SigningKey, err = loadDIDKey("signing-key", c.String("signing-key")); err != nil {
			return u, err
		}
	}
	if u.AddRotationKeys, err = loadDIDKeys(c, "add-rotation-key"); err != nil {
		return u, err
	}
	if u.RemoveRotationKeys, err = loadDIDKeys(c, "remove-rotation-key"); err != nil {
		return u, err
	}
	if u.Tombstone && (u.Handle != "" || u.PDS != "" || u.SigningKey != "" || len(u.AddRotationKeys)+len(u.RemoveRotationKeys) > 0) {
		return u, usageErr("--tombstone cannot be combined with other changes")
	}
	return u, nil
}

func plcRollbackCommand() *cli.Command {
	return &cli.Command{
		Name:      "rollback",
		Usage:     "undo operations: nullify (fork, within 72h, higher-priority key) or restore (new op on the head)",
		ArgsUsage: "LOG.json|-",
		Flags: []cli.Flag{
			jsonFlag, signWithFlag, nowFlag, outFlag, forceFlag,
			&cli.StringFlag{Name: "to", Usage: "CID of the operation whose state to return to"},
			&cli.IntFlag{Name: "last", Usage: "undo the last N active operations"},
			&cli.StringFlag{Name: "mode", Value: plc.ModeNullify, Usage: "nullify or restore"},
			&cli.BoolFlag{Name: "dry-run", Usage: "say what would happen; print no operation"},
			&cli.StringFlag{Name: "did", Usage: "the DID the log must be for"},
		},
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 1, 1, "LOG.json|- --sign-with K (--to CID | --last N) [--mode nullify|restore] [--now TIME] [--dry-run]"); err != nil {
				return err
			}
			if c.IsSet("to") == c.IsSet("last") {
				return usageErr("give exactly one of --to CID and --last N")
			}
			mode := c.String("mode")
			if mode != plc.ModeNullify && mode != plc.ModeRestore {
				return usageErr("--mode must be nullify or restore, not %q", mode)
			}
			signer, now, err := signingArgs(c)
			if err != nil {
				return err
			}
			st, _, err := readLog(c, c.Args().First(), c.String("did"))
			if err != nil {
				return err
			}
			target, err := st.ResolveTarget(c.String("to"), c.Int("last"))
			if err != nil {
				return usageErr("%v", err)
			}
			var plan *plc.RollbackPlan
			if mode == plc.ModeNullify {
				plan, err = plc.PlanNullify(st, target, signer, now)
			} else {
				plan, err = plc.PlanRestore(st, target, signer, now)
			}
			return printPlan(c, st, plan, err)
		},
	}
}

func printPlan(c *cli.Context, st *plc.State, plan *plc.RollbackPlan, planErr error) error {
	dry := c.Bool("dry-run")
	if planErr == nil && !dry {
		if err := checkOverwrite(c.String("out"), c.Bool("force")); err != nil {
			return err
		}
		if err := writeOpFile(c, st.DID, plan.Op); err != nil {
			return err
		}
	}
	if c.Bool("json") {
		if err := printResult(c, plc.ReportRollback(st, plan, planErr, dry), nil); err != nil {
			return err
		}
		if planErr != nil {
			return silentExit(rollbackExit(planErr))
		}
		return nil
	}
	// The operation is the result (standard output); the plan is a message
	// (standard error), unless it is all there is (a dry run, a failure).
	w, msg := c.App.Writer, c.App.Writer
	if planErr == nil && !dry {
		msg = c.App.ErrWriter
	}
	if plan != nil {
		printPlanText(msg, st, plan)
	}
	if planErr != nil {
		return &exitError{code: rollbackExit(planErr), err: planErr}
	}
	if dry {
		fmt.Fprintf(w, "dry run: the operation (cid %s) validates; nothing printed\n", plan.CID)
		return nil
	}
	fmt.Fprintf(msg, "operation cid: %s\n", plan.CID)
	return printBareOp(w, plc.NewSignedOp(st.DID, plan.Op))
}

// printPlanText says what a rollback plan does, for people.
func printPlanText(w io.Writer, st *plc.State, plan *plc.RollbackPlan) {
	fmt.Fprintf(w, "%s rollback of %s to operation %d (%s)\n", plan.Mode, st.DID, plan.Target, plan.TargetCID)
	if plan.Mode == plc.ModeNullify {
		fmt.Fprintf(w, "would nullify %s:\n", count(len(plan.Nullified), "operation"))
		for _, n := range plan.Nullified {
			e := st.Entries[n]
			fmt.Fprintf(w, "  %d  %s  %s  %s\n", n, plc.FormatTime(e.CreatedAt), e.CID, e.Type)
		}
		if !plan.Deadline.IsZero() {
			fmt.Fprintf(w, "possible until %s (72h after %s)\n", plc.FormatTime(plan.Deadline), st.Entries[plan.Nullified[0]].CID)
		}
	}
	if plan.SignerIndex >= 0 {
		fmt.Fprintf(w, "signing with rotation key %d (%s)\n", plan.SignerIndex, plan.SignerKey)
	}
}

func rollbackExit(err error) int {
	if errors.Is(err, plc.ErrMalformedOp) || errors.Is(err, plc.ErrBadDIDKey) {
		return ExitUsage
	}
	return ExitFail
}

func plcVerifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "validate an audit log (or plain list of operations) and print the DID document; or a whole export stream with --export",
		Description: "The DID document goes to standard output (arbor plc verify LOG > doc.json, then\n" +
			"arbor verify REPO.car --did-doc doc.json), the verdict to standard error; --json prints\n" +
			"both as one object. LOG may also be a single genesis operation (what plc genesis writes).",
		ArgsUsage: "LOG.json|-",
		Flags: []cli.Flag{
			jsonFlag,
			&cli.StringFlag{Name: "did", Usage: "the DID the log must be for"},
			&cli.StringFlag{Name: "export", Usage: "validate every DID of a directory export stream (JSON lines)"},
			&cli.IntFlag{Name: "workers", Usage: "goroutines for --export (default: all cores)"},
			shardFlag,
			&cli.StringSliceFlag{Name: "known-bad", Usage: "with --export: a JSON array of DIDs and operation CIDs known not to validate in the production directory " +
				"(go-didplc's known_bad_dids.json, known_bad_cids.json); their failures are counted apart and do not fail the run (repeatable)"},
		},
		Action: plcVerify,
	}
}

func plcVerify(c *cli.Context) error {
	for _, f := range []string{"known-bad", "shard"} {
		if c.IsSet(f) && !c.IsSet("export") {
			return usageErr("--%s goes with --export", f)
		}
	}
	if c.IsSet("export") {
		if err := needArgs(c, 0, 0, "--export FILE.jsonl|-"); err != nil {
			return err
		}
		return verifyExport(c, c.String("export"))
	}
	if err := needArgs(c, 1, 1, "LOG.json|- [--did DID]"); err != nil {
		return err
	}
	st, entries, err := readLog(c, c.Args().First(), c.String("did"))
	if err != nil {
		var ee *exitError
		if c.Bool("json") && entries != nil && errors.As(err, &ee) && ee.code == ExitFail {
			if perr := printResult(c, plc.InvalidLog(ee.err), nil); perr != nil {
				return perr
			}
			return silentExit(ExitFail)
		}
		return err
	}
	var doc *plc.Document
	if !st.Tombstoned() {
		if doc, err = st.Document(); err != nil {
			return failErr("%s: %v", st.DID, err)
		}
	}
	return printResult(c, plc.ValidLog(st, doc), func(w io.Writer, _ *plc.LogVerdict) error {
		// The document is the result, on standard output (for
		// arbor verify --did-doc); the verdict is a message.
		ew := c.App.ErrWriter
		fmt.Fprintf(ew, "valid: %s, %s, %s nullified, head %s\n", st.DID, count(st.Len(), "operation"), num(len(st.Nullified)), st.HeadCID())
		for _, i := range st.Nullified {
			e := st.Entries[i]
			fmt.Fprintf(ew, "nullified: %d %s (by operation %d)\n", i, e.CID, e.NullifiedBy)
		}
		if st.Tombstoned() {
			fmt.Fprintln(ew, "tombstoned: the DID is deactivated, it has no document")
			return nil
		}
		return printJSON(w, doc)
	})
}

func verifyExport(c *cli.Context, name string) error {
	f, err := openInput(c, name)
	if err != nil {
		return err
	}
	defer f.Close()
	var total int64
	if fi, err := os.Stat(name); err == nil && name != stdinName {
		total = fi.Size()
	}
	known, err := loadKnownBad(c.StringSlice("known-bad"))
	if err != nil {
		return err
	}
	sh, err := parseShard(c)
	if err != nil {
		return err
	}
	// What the validation keeps per DID is long-lived and small next to
	// the garbage each line makes: collecting more often keeps the heap
	// near the live state, for a few percent of the signature checks' time.
	defer debug.SetGCPercent(debug.SetGCPercent(25))
	var read atomic.Int64
	p := startProgress(c.App.ErrWriter, "validating "+displayName(name), total, read.Load)
	start := time.Now()
	workers := c.Int("workers")
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	res, err := plc.ValidateExport(f, plc.ExportOptions{
		Workers:       workers,
		ProgressEvery: 2000,
		Progress:      func(pr plc.ExportProgress) { read.Store(pr.Bytes) },
		KnownBad:      known,
		Shard:         sh.Index,
		Shards:        sh.Count,
	})
	p.Stop()
	if err != nil {
		return inputErr(err)
	}
	rep := plc.ReportExport(res, time.Since(start))
	rep.Shard = sh.String()
	if err := printResult(c, rep, func(w io.Writer, rep *plc.ExportReport) error {
		printExport(w, rep, res, known.Len() > 0, workers)
		return nil
	}); err != nil {
		return err
	}
	if len(res.Invalid) > 0 || res.BadLines > 0 {
		return silentExit(ExitFail)
	}
	return nil
}

// printExport writes the human verdict on an export stream.
func printExport(w io.Writer, rep *plc.ExportReport, res *plc.ExportResult, known bool, workers int) {
	note := ""
	if known {
		note = fmt.Sprintf(", %s known bad", num(len(res.KnownBad)))
	}
	if rep.Shard != "" {
		note += fmt.Sprintf("; shard %s, %s of other shards", rep.Shard, count(res.OtherShards, "line"))
	}
	fmt.Fprintf(w, "%s, %s: %s valid, %s invalid%s (%.1fs, %s)\n",
		count(res.Lines, "operation"), count(res.DIDs, "DID"), num(res.Valid), num(len(res.Invalid)), note, rep.Seconds, count(workers, "worker"))
	for _, f := range res.Invalid {
		fmt.Fprintf(w, "invalid: %s: %v\n", f.DID, f.Err)
	}
	if res.BadLines > 0 {
		fmt.Fprintf(w, "%s; first: %s\n", count(res.BadLines, "unreadable line"), res.FirstBadLine)
	}
}

// loadKnownBad reads the --known-bad lists.
func loadKnownBad(files []string) (*plc.KnownBad, error) {
	var known plc.KnownBad
	for _, kb := range files {
		kf, err := os.Open(kb)
		if err != nil {
			return nil, inputErr(err)
		}
		_, err = known.Add(kf)
		kf.Close()
		if err != nil {
			return nil, inputErr(fmt.Errorf("%s: %w", kb, err))
		}
	}
	return &known, nil
}

func plcHistoryCommand() *cli.Command {
	return &cli.Command{
		Name:      "history",
		Usage:     "fetch a DID's audit log from the directory, validate it and list its operations",
		ArgsUsage: "DID",
		Flags:     []cli.Flag{jsonFlag, hostFlag(), &cli.BoolFlag{Name: "raw", Usage: "print the audit log as the directory sent it"}},
		Action:    plcHistory,
	}
}

func plcHistory(c *cli.Context) error {
	if err := needArgs(c, 1, 1, "DID [--plc-host URL]"); err != nil {
		return err
	}
	did, err := plc.ParseDID(c.Args().First())
	if err != nil {
		return usageErr("%q is not a did:plc identifier", c.Args().First())
	}
	cl := &plc.Client{Host: c.String("plc-host")}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	entries, raw, err := cl.AuditLog(ctx, did)
	if err != nil {
		return inputErr(err)
	}
	if c.Bool("raw") {
		_, err := c.App.Writer.Write(append(raw, '\n'))
		return err
	}
	h := plc.NewHistory(did, entries)
	if err := printResult(c, h, printHistory); err != nil {
		return err
	}
	switch {
	case h.Valid:
		return nil
	case c.Bool("json"):
		return silentExit(ExitFail)
	}
	return failErr("%s: %s", did, h.Error)
}

func printHistory(w io.Writer, h *plc.History) error {
	fmt.Fprintf(w, "%s: %s\n", h.DID, count(len(h.Entries), "operation"))
	for _, e := range h.Entries {
		mark := " "
		if e.Nullified {
			mark = "N"
		}
		fmt.Fprintf(w, "%s %3d  %s  %s  %-13s %s %s\n", mark, e.Index, e.CreatedAt, e.CID, e.Type, e.Handle, e.PDS)
	}
	if h.Valid {
		fmt.Fprintln(w, "valid")
	}
	return nil
}

func plcSubmitCommand() *cli.Command {
	return &cli.Command{
		Name:      "submit",
		Usage:     "check a signed operation against the DID's current log and send it to the directory",
		ArgsUsage: "OP.json|-",
		Flags: []cli.Flag{jsonFlag, hostFlag(),
			&cli.StringFlag{Name: "did", Usage: "the DID (default: from the file, or computed for a genesis operation)"},
			&cli.BoolFlag{Name: "no-check", Usage: "do not fetch and check against the current log first"},
		},
		Action: plcSubmit,
	}
}

func plcSubmit(c *cli.Context) error {
	if err := needArgs(c, 1, 1, "OP.json|- [--did DID] [--plc-host URL]"); err != nil {
		return err
	}
	op, did, err := submitArgs(c)
	if err != nil {
		return err
	}
	if err := plc.CheckLimits(op); err != nil {
		return failErr("%v", err)
	}
	cl := &plc.Client{Host: c.String("plc-host")}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := checkSubmission(ctx, cl, did, op, !c.Bool("no-check")); err != nil {
		return err
	}
	if err := cl.Submit(ctx, did, op); err != nil {
		if errors.Is(err, plc.ErrDirectory) {
			return failErr("%v", err)
		}
		return inputErr(err)
	}
	return printResult(c, &plc.Submission{Submitted: true, DID: did, CID: op.CID().String()}, func(w io.Writer, s *plc.Submission) error {
		_, err := fmt.Fprintf(w, "submitted %s for %s\n", s.CID, s.DID)
		return err
	})
}

// submitArgs reads the operation to submit and the DID it is for.
func submitArgs(c *cli.Context) (*plc.Operation, syntax.DID, error) {
	b, err := readPLCInput(c, c.Args().First())
	if err != nil {
		return nil, "", err
	}
	op, given, err := parseOpArg(b)
	if err != nil {
		return nil, "", inputErr(err)
	}
	if c.IsSet("did") {
		given = c.String("did")
	}
	if given == "" && op.IsGenesis() {
		did, err := plc.DIDFromGenesis(op)
		if err != nil {
			return nil, "", inputErr(err)
		}
		return op, did, nil
	}
	did, err := plc.ParseDID(given)
	if err != nil {
		return nil, "", usageErr("no DID for this operation: give --did")
	}
	return op, did, nil
}

// checkSubmission checks op before it is sent: a genesis operation as a log
// of one, any other against the directory's current log (unless check is
// off).
func checkSubmission(ctx context.Context, cl *plc.Client, did syntax.DID, op *plc.Operation, check bool) error {
	if op.IsGenesis() {
		if _, err := plc.ValidateLog(did, []plc.LogEntry{{Operation: op}}); err != nil {
			return failErr("%v", err)
		}
		return nil
	}
	if !check {
		return nil
	}
	entries, _, err := cl.AuditLog(ctx, did)
	if err != nil {
		return inputErr(fmt.Errorf("fetching the current log to check against: %w", err))
	}
	st, err := plc.ValidateLog(did, entries)
	if err != nil {
		return failErr("the directory's current log does not validate: %v", err)
	}
	if err := plc.CheckNext(st, op, time.Now().UTC()); err != nil {
		return failErr("the operation would be refused: %v", err)
	}
	return nil
}
