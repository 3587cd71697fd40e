package commands

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/arbor-atproto/arbor/internal/atomicfile"

	"github.com/arbor-atproto/arbor/archive"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/ipfs/go-cid"
	"github.com/urfave/cli/v2"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/diff"
	"github.com/arbor-atproto/arbor/repo"
)

func newSide(s *diff.Opened) diff.Side {
	j := diff.Side{File: displayName(s.Name), Root: s.Root.String(), Data: s.Data.String(), BareTree: s.BareTree(), Read: s.Read}
	if s.Commit != nil {
		j.DID, j.Rev = s.Commit.DID, s.Commit.Rev
	}
	return j
}

func diffCommand() *cli.Command {
	return &cli.Command{
		Name:  "diff",
		Usage: "compare two snapshots of a repository: records created, updated and deleted (exit 1 when they differ)",
		Description: "Walks both MSTs in key order and skips every subtree the two share, so the work grows with the change, not the repo.\n" +
			"A CAR whose root is an MST node (a bare tree) is accepted. With --car, writes the blocks NEW has and OLD lacks,\n" +
			"rooted at NEW's commit: the slice com.atproto.sync.getRepo?since=OLD's rev returns (see arbor apply).\n" +
			"A file is mapped and read only as far as the diff needs: its framing is checked, on another core, up to a little\n" +
			"past the last MST node (the whole file with --records or --car), and every block the diff reads is checked against\n" +
			"its CID; record blocks after the tree are not read (arbor verify reads everything). Standard input is read in full.",
		ArgsUsage: "OLD.car NEW.car",
		Flags: []cli.Flag{
			jsonFlag,
			&cli.BoolFlag{Name: "records", Usage: "show a field-level diff of each updated record (needs the record blocks)"},
			&cli.StringFlag{Name: "collection", Usage: "only operations on records of this collection (NSID)"},
			&cli.BoolFlag{Name: "force", Usage: "compare even when the snapshots are of different DIDs, and replace an existing --car file"},
			&cli.StringFlag{Name: "car", Usage: "write the slice (blocks NEW has and OLD lacks, rooted at NEW's root) to this CAR file"},
		},
		Action: diffAction,
	}
}

const diffUsage = "OLD.car NEW.car [--json] [--records] [--collection NSID] [--force] [--car OUT.car]"

func diffAction(c *cli.Context) error {
	if err := needArgs(c, 2, 2, diffUsage); err != nil {
		return err
	}
	oldName, newName := c.Args().Get(0), c.Args().Get(1)
	coll, sliceOut := c.String("collection"), c.String("car")
	if err := diffArgs(c, oldName, newName); err != nil {
		return err
	}
	oldA, newA, err := openArchives(c, oldName, newName, c.Bool("records") || sliceOut != "")
	if err != nil {
		return err
	}
	defer oldA.Close()
	defer newA.Close()
	out, err := diffReport(c, oldA, newA)
	if err != nil {
		return err
	}
	// The proofs are only printed with --json; the human output
	// and the slice need the walk alone.
	compare := diff.Ops
	if c.Bool("json") {
		compare = diff.Compare
	}
	res, err := compare(oldA.Blocks, oldA.Data, newA.Blocks, newA.Data)
	if err != nil {
		return inputErr(err)
	}
	if sliceOut != "" {
		res.SortSets() // the slice's block order must not vary
	}
	// The framing of each file, as far as it was scanned (past
	// the last node; to the end with bodies), must be sound: a bad
	// section there is bad input even if the walk did not need it.
	for _, s := range []*diff.Opened{oldA, newA} {
		if err := s.Wait(); err != nil {
			return inputErr(fmt.Errorf("%s: %w", displayName(s.Name), err))
		}
	}
	out.Fill(res, coll, c.Bool("json"))
	if c.Bool("records") {
		out.AddFieldDiffs(oldA.Blocks, newA.Blocks)
	}
	if sliceOut != "" {
		if out.Slice, err = writeSlice(sliceOut, oldA, newA, res); err != nil {
			return err
		}
	}
	if err := printResult(c, out, printDiff); err != nil {
		return err
	}
	if !out.Identical {
		return silentExit(ExitFail)
	}
	return nil
}

// diffArgs checks diff's arguments before anything is read.
func diffArgs(c *cli.Context, oldName, newName string) error {
	if oldName == stdinName && newName == stdinName {
		return usageErr("only one of OLD and NEW can be standard input")
	}
	if err := checkNSIDFlag("--collection", c.String("collection")); err != nil {
		return err
	}
	if !c.IsSet("car") {
		return nil
	}
	sliceOut := c.String("car")
	for _, in := range []string{oldName, newName} {
		if err := distinctOutput(in, sliceOut); err != nil {
			return err
		}
	}
	return checkOverwrite(sliceOut, c.Bool("force"))
}

// diffReport starts the report on two opened snapshots: refuses snapshots
// of different DIDs (unless --force) and warns of what looks wrong.
func diffReport(c *cli.Context, oldA, newA *diff.Opened) (*diff.Report, error) {
	for _, s := range []*diff.Opened{oldA, newA} {
		if s.CommitErr != nil {
			return nil, inputErr(fmt.Errorf("%s: %w", displayName(s.Name), s.CommitErr))
		}
	}
	out := &diff.Report{Old: newSide(oldA), New: newSide(newA), Collection: c.String("collection"), Warnings: []string{}}
	if oldA.Commit != nil && newA.Commit != nil {
		if oldA.Commit.DID != newA.Commit.DID && !c.Bool("force") {
			return nil, usageErr("%s is a repo of %s but %s is a repo of %s: refusing to compare different repositories (use --force)",
				displayName(oldA.Name), oldA.Commit.DID, displayName(newA.Name), newA.Commit.DID)
		}
		if oldA.Commit.DID != newA.Commit.DID {
			out.Warnings = append(out.Warnings, fmt.Sprintf("different DIDs: OLD is %s, NEW is %s", oldA.Commit.DID, newA.Commit.DID))
		}
		if o, n := oldA.Commit.Rev, newA.Commit.Rev; o != "" && n != "" && n < o {
			out.Warnings = append(out.Warnings, fmt.Sprintf("NEW's rev %s is older than OLD's rev %s: the arguments may be swapped", n, o))
		}
	}
	for _, w := range out.Warnings {
		fmt.Fprintf(c.App.ErrWriter, "arbor: warning: %s\n", w)
	}
	return out, nil
}

// writeSlice writes the slice (diff.WriteSlice) to path, atomically.
func writeSlice(path string, oldA, newA *diff.Opened, res *diff.Result) (*diff.SliceInfo, error) {
	var sl *diff.SliceInfo
	err := atomicfile.WriteFile(path, 0o644, func(w io.Writer) error {
		var err error
		sl, err = diff.WriteSlice(w, diff.SliceSides{OldHas: oldA.Blocks.Has, New: newA.Blocks, NewRoot: newA.Root, NewBareTree: newA.BareTree()}, res)
		return err
	}, nil)
	if err != nil {
		return nil, inputErr(fmt.Errorf("writing %s: %w", path, err))
	}
	sl.File = path
	return sl, nil
}

// printFieldChanges prints an update's field-level diff (--records).
func printFieldChanges(w io.Writer, p painter, o diff.OpInfo) {
	for _, f := range o.Fields {
		old, new := string(f.Old), string(f.New)
		switch {
		case f.Old == nil:
			fmt.Fprintf(w, "      %s %s\n", p.green("+ "+f.Path+":"), new)
		case f.New == nil:
			fmt.Fprintf(w, "      %s %s\n", p.red("- "+f.Path+":"), old)
		default:
			fmt.Fprintf(w, "      ~ %s: %s → %s\n", f.Path, old, new)
		}
	}
	if o.FieldsError != "" {
		fmt.Fprintf(w, "      (no field diff: %s)\n", o.FieldsError)
	}
}

// printDiff prints the human form: ops grouped by collection, then a summary.
func printDiff(w io.Writer, out *diff.Report) error {
	p := newPainter(w)
	side := func(mark string, s diff.Side) {
		desc := "bare MST " + s.Data
		if s.DID != "" {
			desc = s.DID.String()
			if s.Rev != "" {
				desc += " rev " + s.Rev.String()
			}
		}
		fmt.Fprintf(w, "%s %s (%s)\n", mark, s.File, desc)
	}
	side("---", out.Old)
	side("+++", out.New)
	coll := ""
	for _, o := range out.Ops {
		if c, _, _ := strings.Cut(o.Path, "/"); c != coll {
			coll = c
			fmt.Fprintf(w, "%s\n", p.bold(coll))
		}
		switch o.Action {
		case "create":
			fmt.Fprintf(w, "  %s\n", p.green("+ "+o.Path))
		case "update":
			fmt.Fprintf(w, "  %s\n", p.yellow("~ "+o.Path))
			printFieldChanges(w, p, o)
		case "delete":
			fmt.Fprintf(w, "  %s\n", p.red("- "+o.Path))
		}
	}
	scope := ""
	if out.Collection != "" {
		scope = " in " + out.Collection
	}
	if out.Identical {
		fmt.Fprintf(w, "no record differences%s", scope)
	} else {
		fmt.Fprintf(w, "%s created, %s updated, %s deleted%s",
			p.green(num(out.Summary.Creates)), p.yellow(num(out.Summary.Updates)), p.red(num(out.Summary.Deletes)), scope)
	}
	_, err := fmt.Fprintf(w, "; MST: %s new, %s gone; read %s old and %s new\n",
		count(out.NodesCreated, "node"), num(out.NodesDeleted), num(out.Visited.Old), count(out.Visited.New, "node"))
	if err == nil && out.Slice != nil {
		_, err = fmt.Fprintf(w, "wrote %s: %s (%s, %s), root %s\n",
			out.Slice.File, count(out.Slice.Blocks, "block"), count(out.Slice.Nodes, "MST node"), count(out.Slice.Records, "record"), out.Slice.Root)
	}
	return err
}

func applyCommand() *cli.Command {
	return &cli.Command{
		Name:  "apply",
		Usage: "bring a snapshot forward with a slice (arbor diff --car, or getRepo?since=), verify it fully, write the new snapshot",
		Description: "The slice's root must be a later commit of the same repository whose tree and records can be completed\n" +
			"from the slice plus BASE. The result is written to a temporary file, verified like arbor verify (and the\n" +
			"signature with --key), and only then renamed to OUT.car. A slice that does not fit writes nothing (exit 1).",
		ArgsUsage: "BASE.car SLICE.car",
		Flags: []cli.Flag{
			jsonFlag,
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "write the new full snapshot to this CAR file (required)"},
			&cli.StringFlag{Name: "key", Usage: "check the new commit's signature against this public key (did:key:... or multibase)"},
			forceFlag,
		},
		Action: apply,
	}
}

const applyUsage = "BASE.car SLICE.car -o OUT.car [--key KEY] [--force] [--json]"

func apply(c *cli.Context) error {
	if err := needArgs(c, 2, 2, applyUsage); err != nil {
		return err
	}
	baseName, sliceName, outName := c.Args().Get(0), c.Args().Get(1), c.String("out")
	key, err := applyArgs(c, baseName, sliceName, outName)
	if err != nil {
		return err
	}
	base, err := readCAR(c, baseName, archive.ReadWithBodies, archive.Options{})
	if err != nil {
		return err
	}
	if base.CommitErr != nil {
		return inputErr(fmt.Errorf("%s: %w", displayName(baseName), base.CommitErr))
	}
	slice, err := readCAR(c, sliceName, archive.ReadWithBodies, archive.Options{})
	if err != nil {
		return err
	}
	var res *diff.Applied
	prog := startStatus(c.App.ErrWriter, "applying "+displayName(sliceName))
	err = atomicfile.WriteFile(outName, 0o644, func(w io.Writer) error {
		cw, err := car.NewWriter(w, []cid.Cid{slice.Root})
		if err != nil {
			return err
		}
		res, err = diff.ApplySlice(
			diff.RootedBlocks{Blocks: base, Root: base.Root},
			diff.RootedBlocks{Blocks: slice, Root: slice.Root},
			cw.Put)
		if err != nil {
			return err
		}
		return cw.Flush()
	}, func(tmp string) error {
		return archive.CheckWritten(tmp, archive.Expect{Key: key, Commit: res.CommitCID, Records: res.Records}, prog.buildPhases(func(phase string) string { return outName + ": " + phase }))
	})
	prog.Stop()
	switch {
	case errors.Is(err, diff.ErrSliceMismatch), errors.Is(err, repo.ErrNotACommit):
		return failErr("%s does not fit %s: %v (nothing written)", displayName(sliceName), displayName(baseName), err)
	case errors.Is(err, archive.ErrInvalidOutput):
		return failErr("the new snapshot fails verification: %v (nothing written)", err)
	case err != nil:
		return inputErr(fmt.Errorf("%v (nothing written)", err))
	}
	return printResult(c, diff.NewApplyReport(outName, res, key != nil), printApply)
}

// applyArgs checks apply's arguments and reads --key.
func applyArgs(c *cli.Context, baseName, sliceName, outName string) (atcrypto.PublicKey, error) {
	if baseName == stdinName && sliceName == stdinName {
		return nil, usageErr("only one of BASE and SLICE can be standard input")
	}
	if outName == "" {
		return nil, usageErr("usage: arbor apply %s (-o is required)", applyUsage)
	}
	for _, in := range []string{baseName, sliceName} {
		if err := distinctOutput(in, outName); err != nil {
			return nil, err
		}
	}
	if err := checkOverwrite(outName, c.Bool("force")); err != nil {
		return nil, err
	}
	if !c.IsSet("key") {
		return nil, nil
	}
	k, err := repo.LoadPublicKey(c.String("key"))
	if err != nil {
		return nil, usageErr("--key: %v", err)
	}
	return k, nil
}

func printApply(w io.Writer, r *diff.ApplyReport) error {
	p := newPainter(w)
	fmt.Fprintf(w, "%s wrote %s: %s rev %s → %s\n", p.green("✓"), r.File, r.DID, orNone(r.BaseRev), r.Rev)
	fmt.Fprintf(w, "  %s (%s created, %s updated, %s deleted), %s\n", count(r.Records, "record"), num(r.Creates), num(r.Updates), num(r.Deletes), count(r.MSTNodes, "MST node"))
	fmt.Fprintf(w, "  %s from the base, %s from the slice\n", count(r.BlocksFromBase, "block"), num(r.BlocksFromSlice))
	if r.SignatureChecked {
		fmt.Fprintf(w, "  verified: blocks, commit, signature, MST shape, every record\n")
	} else {
		fmt.Fprintf(w, "  verified: blocks, commit, MST shape, every record; signature not checked (give --key)\n")
	}
	return nil
}

func orNone[S ~string](s S) string {
	if s == "" {
		return "(none)"
	}
	return string(s)
}

// openArchives opens OLD and NEW (diff.OpenPair): a file that cannot be
// indexed is read in full through readCAR, with its progress line.
func openArchives(c *cli.Context, oldName, newName string, bodies bool) (oldS, newS *diff.Opened, err error) {
	oldS, newS, err = diff.OpenPair(oldName, newName, bodies, func(name string, bodies bool) (*archive.Archive, error) {
		a, err := readArchive(c, name, bodies)
		var ee *exitError
		if errors.As(err, &ee) && ee.code == ExitFail {
			// diff's exit 1 says the snapshots differ: one that
			// fails its checks is input diff cannot compare (2), as
			// in file mode.
			err = &exitError{code: ExitUsage, err: ee.err}
		}
		return a, err
	})
	var oe *diff.OpenError
	if errors.As(err, &oe) {
		return nil, nil, inputErr(err)
	}
	return oldS, newS, err
}

// readArchive reads one side of a diff: with every block's bytes when the
// records are compared or written out, else with nodes whole.
func readArchive(c *cli.Context, name string, bodies bool) (*archive.Archive, error) {
	if bodies {
		b, err := readCAR(c, name, archive.ReadWithBodies, archive.Options{})
		if err != nil {
			return nil, err
		}
		return b.Archive, nil
	}
	return readCAR(c, name, archive.ReadNodes, archive.Options{})
}
