package commands

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"
	"github.com/urfave/cli/v2"

	"github.com/arbor-atproto/arbor/build"
	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/diff"
	"github.com/arbor-atproto/arbor/repo"
)

// snapshotJSON names one side of a diff.
type snapshotJSON struct {
	File     string `json:"file"`
	Root     string `json:"root"`
	Data     string `json:"data"`
	BareTree bool   `json:"bareTree"`
	DID      string `json:"did,omitempty"`
	Rev      string `json:"rev,omitempty"`
}

func newSnapshotJSON(name string, a *repo.Archive) snapshotJSON {
	s := snapshotJSON{File: displayName(name), Root: a.Root.String(), Data: a.Data.String(), BareTree: a.IsBareTree()}
	if a.Commit != nil {
		s.DID, s.Rev = a.Commit.DID, a.Commit.Rev
	}
	return s
}

// diffOpJSON is one record operation, in the reference's form (golden/diffs).
type diffOpJSON struct {
	Action string             `json:"action"`
	Path   string             `json:"path"`
	CID    string             `json:"cid,omitempty"`
	Prev   string             `json:"prev,omitempty"`
	Fields []diff.FieldChange `json:"fields,omitempty"`
	// FieldsError says why a field diff could not be made (--records).
	FieldsError string `json:"fieldsError,omitempty"`
}

type diffJSON struct {
	Old       snapshotJSON `json:"old"`
	New       snapshotJSON `json:"new"`
	Identical bool         `json:"identical"`
	Summary   struct {
		Creates int `json:"creates"`
		Updates int `json:"updates"`
		Deletes int `json:"deletes"`
	} `json:"summary"`
	Collection          string       `json:"collection,omitempty"`
	Ops                 []diffOpJSON `json:"ops"`
	CreatedNodes        []string     `json:"createdNodes"`
	DeletedNodes        []string     `json:"deletedNodes"`
	CreatedRecords      []string     `json:"createdRecords"`
	DeletedRecords      []string     `json:"deletedRecords"`
	ProofNodes          []string     `json:"proofNodes"`
	InductiveProofNodes []string     `json:"inductiveProofNodes"`
	CoveringProof       []string     `json:"coveringProof"`
	Visited             struct {
		Old int `json:"old"`
		New int `json:"new"`
	} `json:"visitedNodes"`
	Warnings []string   `json:"warnings"`
	Slice    *sliceJSON `json:"slice,omitempty"`
}

type sliceJSON struct {
	File    string `json:"file"`
	Root    string `json:"root"`
	Blocks  int    `json:"blocks"`
	Nodes   int    `json:"mstNodes"`
	Records int    `json:"records"`
}

func diffCommand() *cli.Command {
	const usage = "OLD.car NEW.car [--json] [--records] [--collection NSID] [--force] [--car OUT.car]"
	return &cli.Command{
		Name:  "diff",
		Usage: "compare two snapshots of a repository: records created, updated and deleted (exit 1 when they differ)",
		Description: "Walks both MSTs in key order and skips every subtree the two share, so the work grows with the change, not the repo.\n" +
			"A CAR whose root is an MST node (a bare tree) is accepted. With --car, writes the blocks NEW has and OLD lacks,\n" +
			"rooted at NEW's commit: the slice com.atproto.sync.getRepo?since=OLD's rev returns (see arbor apply).",
		ArgsUsage: "OLD.car NEW.car",
		Flags: []cli.Flag{
			jsonFlag,
			&cli.BoolFlag{Name: "records", Usage: "show a field-level diff of each updated record (needs the record blocks)"},
			&cli.StringFlag{Name: "collection", Usage: "only operations on records of this collection (NSID)"},
			&cli.BoolFlag{Name: "force", Usage: "compare even when the snapshots are of different DIDs"},
			&cli.StringFlag{Name: "car", Usage: "write the slice (blocks NEW has and OLD lacks, rooted at NEW's root) to this CAR file"},
		},
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 2, 2, usage); err != nil {
				return err
			}
			oldName, newName := c.Args().Get(0), c.Args().Get(1)
			if oldName == stdinName && newName == stdinName {
				return usageErr("only one of OLD and NEW can be standard input")
			}
			coll := c.String("collection")
			if coll != "" {
				if _, err := syntax.ParseNSID(coll); err != nil {
					return usageErr("--collection: %v", err)
				}
			}
			sliceOut := c.String("car")
			if c.IsSet("car") {
				for _, in := range []string{oldName, newName} {
					if err := distinctOutput(in, sliceOut); err != nil {
						return err
					}
				}
			}
			bodies := c.Bool("records") || sliceOut != ""
			oldA, err := readArchive(c, oldName, bodies)
			if err != nil {
				return err
			}
			newA, err := readArchive(c, newName, bodies)
			if err != nil {
				return err
			}
			for _, s := range []struct {
				name string
				a    *repo.Archive
			}{{oldName, oldA}, {newName, newA}} {
				if s.a.CommitErr != nil {
					return inputErr(fmt.Errorf("%s: %w", displayName(s.name), s.a.CommitErr))
				}
			}
			out := diffJSON{Old: newSnapshotJSON(oldName, oldA), New: newSnapshotJSON(newName, newA), Collection: coll, Warnings: []string{}}
			if oldA.Commit != nil && newA.Commit != nil {
				if oldA.Commit.DID != newA.Commit.DID && !c.Bool("force") {
					return usageErr("%s is a repo of %s but %s is a repo of %s: refusing to compare different repositories (use --force)",
						displayName(oldName), oldA.Commit.DID, displayName(newName), newA.Commit.DID)
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

			res, err := diff.Compare(oldA, oldA.Data, newA, newA.Data)
			if err != nil {
				return inputErr(err)
			}
			fillDiffJSON(&out, res, coll)
			if c.Bool("records") {
				addFieldDiffs(&out, oldA, newA)
			}
			if sliceOut != "" {
				sl, err := writeSlice(sliceOut, oldA, newA, res)
				if err != nil {
					return err
				}
				out.Slice = sl
			}

			w := c.App.Writer
			if c.Bool("json") {
				if err := printJSON(w, out); err != nil {
					return err
				}
			} else if err := printDiff(w, &out); err != nil {
				return err
			}
			if !out.Identical {
				return silentExit(ExitFail)
			}
			return nil
		},
	}
}

// fillDiffJSON copies a diff result, keeping only the ops of coll when set.
func fillDiffJSON(out *diffJSON, res *diff.Result, coll string) {
	out.Ops = []diffOpJSON{}
	for _, o := range res.Ops {
		if coll != "" && o.Collection() != coll {
			continue
		}
		oj := diffOpJSON{Action: o.Action().String(), Path: o.Path}
		if o.New.Defined() {
			oj.CID = o.New.String()
		}
		if o.Old.Defined() {
			oj.Prev = o.Old.String()
		}
		switch o.Action() {
		case diff.Create:
			out.Summary.Creates++
		case diff.Update:
			out.Summary.Updates++
		case diff.Delete:
			out.Summary.Deletes++
		}
		out.Ops = append(out.Ops, oj)
	}
	out.Identical = len(out.Ops) == 0
	out.CreatedNodes = cidStrings(res.CreatedNodes)
	out.DeletedNodes = cidStrings(res.DeletedNodes)
	out.CreatedRecords = cidStrings(res.CreatedRecords)
	out.DeletedRecords = cidStrings(res.DeletedRecords)
	out.ProofNodes = cidStrings(res.ProofNodes)
	out.InductiveProofNodes = cidStrings(res.InductiveProofNodes)
	out.CoveringProof = cidStrings(res.CoveringProof)
	out.Visited.Old, out.Visited.New = res.OldVisited, res.NewVisited
}

// addFieldDiffs adds the field-level diff of every updated record.
func addFieldDiffs(out *diffJSON, oldA, newA *repo.Archive) {
	for i := range out.Ops {
		o := &out.Ops[i]
		if o.Action != diff.Update.String() {
			continue
		}
		prev, _ := cid.Decode(o.Prev)
		next, _ := cid.Decode(o.CID)
		ob, err1 := oldA.Get(prev)
		nb, err2 := newA.Get(next)
		if err := errors.Join(err1, err2); err != nil {
			o.FieldsError = "record blocks not in the files: " + strings.ReplaceAll(err.Error(), "\n", "; ")
			continue
		}
		fields, err := diff.Fields(ob, nb)
		if err != nil {
			o.FieldsError = err.Error()
			continue
		}
		o.Fields = fields
	}
}

// writeSlice writes the blocks newA has and oldA lacks, rooted at newA's
// root: created MST nodes, then new record blocks, then the commit.
func writeSlice(path string, oldA, newA *repo.Archive, res *diff.Result) (*sliceJSON, error) {
	sl := &sliceJSON{File: path, Root: newA.Root.String()}
	err := build.WriteFileAtomic(path, 0o644, func(w io.Writer) error {
		cw, err := car.NewWriter(w, []cid.Cid{newA.Root})
		if err != nil {
			return err
		}
		put := func(c cid.Cid, what string) error {
			b, err := newA.Get(c)
			if err != nil {
				return fmt.Errorf("NEW lacks %s block %s: %w", what, c, err)
			}
			sl.Blocks++
			return cw.Put(c, b)
		}
		for _, c := range res.CreatedNodes {
			if c == newA.Root {
				continue // a bare tree's root goes last, like a commit
			}
			if err := put(c, "MST node"); err != nil {
				return err
			}
			sl.Nodes++
		}
		for _, c := range res.CreatedRecords {
			if oldA.Has(c) {
				continue // OLD already has this content under another path
			}
			if err := put(c, "record"); err != nil {
				return err
			}
			sl.Records++
		}
		if !oldA.Has(newA.Root) {
			if err := put(newA.Root, "root"); err != nil {
				return err
			}
			if newA.IsBareTree() {
				sl.Nodes++
			}
		}
		return cw.Flush()
	}, nil)
	if err != nil {
		return nil, inputErr(fmt.Errorf("writing %s: %w", path, err))
	}
	return sl, nil
}

// printDiff prints the human form: ops grouped by collection, then a summary.
func printDiff(w io.Writer, out *diffJSON) error {
	p := newPainter(w)
	side := func(mark string, s snapshotJSON) {
		desc := "bare MST " + s.Data
		if s.DID != "" {
			desc = s.DID
			if s.Rev != "" {
				desc += " rev " + s.Rev
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
			p.green(fmt.Sprint(out.Summary.Creates)), p.yellow(fmt.Sprint(out.Summary.Updates)), p.red(fmt.Sprint(out.Summary.Deletes)), scope)
	}
	_, err := fmt.Fprintf(w, "; MST: %d nodes new, %d gone; read %d old and %d new nodes\n",
		len(out.CreatedNodes), len(out.DeletedNodes), out.Visited.Old, out.Visited.New)
	if err == nil && out.Slice != nil {
		_, err = fmt.Fprintf(w, "wrote %s: %d blocks (%d MST nodes, %d records), root %s\n",
			out.Slice.File, out.Slice.Blocks, out.Slice.Nodes, out.Slice.Records, out.Slice.Root)
	}
	return err
}

func applyCommand() *cli.Command {
	const usage = "BASE.car SLICE.car -o OUT.car [--key KEY] [--json]"
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
		},
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 2, 2, usage); err != nil {
				return err
			}
			baseName, sliceName := c.Args().Get(0), c.Args().Get(1)
			if baseName == stdinName && sliceName == stdinName {
				return usageErr("only one of BASE and SLICE can be standard input")
			}
			outName := c.String("out")
			if outName == "" {
				return usageErr("usage: arbor apply %s (-o is required)", usage)
			}
			for _, in := range []string{baseName, sliceName} {
				if err := distinctOutput(in, outName); err != nil {
					return err
				}
			}
			opts := repo.VerifyOptions{}
			if c.IsSet("key") {
				k, err := repo.LoadPublicKey(c.String("key"))
				if err != nil {
					return usageErr("--key: %v", err)
				}
				opts.Key = k
			}
			base, err := readArchive(c, baseName, true)
			if err != nil {
				return err
			}
			if base.CommitErr != nil {
				return inputErr(fmt.Errorf("%s: %w", displayName(baseName), base.CommitErr))
			}
			slice, err := readArchive(c, sliceName, true)
			if err != nil {
				return err
			}
			var res *diff.Applied
			err = build.WriteFileAtomic(outName, 0o644, func(w io.Writer) error {
				cw, err := car.NewWriter(w, []cid.Cid{slice.Root})
				if err != nil {
					return err
				}
				res, err = diff.ApplySlice(
					diff.Snapshot{Blocks: base, Root: base.Root},
					diff.Snapshot{Blocks: slice, Root: slice.Root},
					cw.Put)
				if err != nil {
					return err
				}
				return cw.Flush()
			}, func(tmp string) error {
				return build.CheckCAR(tmp, opts.Key, res.CommitCID, res.Records)
			})
			switch {
			case errors.Is(err, diff.ErrSliceMismatch), errors.Is(err, diff.ErrNotACommit):
				return failErr("%s does not fit %s: %v (nothing written)", displayName(sliceName), displayName(baseName), err)
			case errors.Is(err, build.ErrInvalidOutput):
				return failErr("the new snapshot fails verification: %v (nothing written)", err)
			case err != nil:
				return inputErr(fmt.Errorf("%v (nothing written)", err))
			}
			var creates, updates, deletes int
			for _, o := range res.Ops {
				switch o.Action() {
				case diff.Create:
					creates++
				case diff.Update:
					updates++
				case diff.Delete:
					deletes++
				}
			}
			w := c.App.Writer
			if c.Bool("json") {
				return printJSON(w, struct {
					File             string `json:"file"`
					DID              string `json:"did"`
					Commit           string `json:"commit"`
					Data             string `json:"data"`
					Rev              string `json:"rev"`
					BaseRev          string `json:"baseRev,omitempty"`
					Records          int    `json:"records"`
					MSTNodes         int    `json:"mstNodes"`
					Creates          int    `json:"creates"`
					Updates          int    `json:"updates"`
					Deletes          int    `json:"deletes"`
					BlocksFromBase   int    `json:"blocksFromBase"`
					BlocksFromSlice  int    `json:"blocksFromSlice"`
					SignatureChecked bool   `json:"signatureChecked"`
				}{outName, res.Commit.DID, res.CommitCID.String(), res.Commit.Data.String(), res.Commit.Rev, res.BaseRev,
					res.Records, res.Nodes, creates, updates, deletes, res.FromBase, res.FromSlice, opts.Key != nil})
			}
			p := newPainter(w)
			fmt.Fprintf(w, "%s wrote %s: %s rev %s → %s\n", p.green("✓"), outName, res.Commit.DID, orNone(res.BaseRev), res.Commit.Rev)
			fmt.Fprintf(w, "  %d records (%d created, %d updated, %d deleted), %d MST nodes\n", res.Records, creates, updates, deletes, res.Nodes)
			fmt.Fprintf(w, "  %d blocks from the base, %d from the slice\n", res.FromBase, res.FromSlice)
			if opts.Key != nil {
				fmt.Fprintf(w, "  verified: blocks, commit, signature, MST shape, every record\n")
			} else {
				fmt.Fprintf(w, "  verified: blocks, commit, MST shape, every record; signature not checked (give --key)\n")
			}
			return nil
		},
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
