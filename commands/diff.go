package commands

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/arbor-atproto/arbor/archive"

	"github.com/ipfs/go-cid"
	"github.com/urfave/cli/v2"

	"github.com/arbor-atproto/arbor/build"
	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/diff"
	"github.com/arbor-atproto/arbor/mst"
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
	// Read says how the file was read: "index" (mapped, the framing
	// checked as far as the diff needed, each block hash-checked when the
	// diff reads it) or "full" (streamed and every block hash-checked:
	// standard input, pipes).
	Read string `json:"read"`
}

func newSnapshotJSON(s *snapshot) snapshotJSON {
	j := snapshotJSON{File: displayName(s.name), Root: s.root.String(), Data: s.data.String(), BareTree: s.isBareTree(), Read: s.read}
	if s.commit != nil {
		j.DID, j.Rev = s.commit.DID, s.commit.Rev
	}
	return j
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

	// nodesNew and nodesGone count CreatedNodes and DeletedNodes, which
	// are only listed for --json.
	nodesNew, nodesGone int
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
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 2, 2, usage); err != nil {
				return err
			}
			oldName, newName := c.Args().Get(0), c.Args().Get(1)
			if oldName == stdinName && newName == stdinName {
				return usageErr("only one of OLD and NEW can be standard input")
			}
			coll := c.String("collection")
			if err := checkNSIDFlag("--collection", coll); err != nil {
				return err
			}
			sliceOut := c.String("car")
			if c.IsSet("car") {
				for _, in := range []string{oldName, newName} {
					if err := distinctOutput(in, sliceOut); err != nil {
						return err
					}
				}
				if err := checkOverwrite(sliceOut, c.Bool("force")); err != nil {
					return err
				}
			}
			bodies := c.Bool("records") || sliceOut != ""
			oldA, newA, err := openSnapshots(c, oldName, newName, bodies)
			if err != nil {
				return err
			}
			defer oldA.close()
			defer newA.close()
			for _, s := range []*snapshot{oldA, newA} {
				if s.commitErr != nil {
					return inputErr(fmt.Errorf("%s: %w", displayName(s.name), s.commitErr))
				}
			}
			out := diffJSON{Old: newSnapshotJSON(oldA), New: newSnapshotJSON(newA), Collection: coll, Warnings: []string{}}
			if oldA.commit != nil && newA.commit != nil {
				if oldA.commit.DID != newA.commit.DID && !c.Bool("force") {
					return usageErr("%s is a repo of %s but %s is a repo of %s: refusing to compare different repositories (use --force)",
						displayName(oldName), oldA.commit.DID, displayName(newName), newA.commit.DID)
				}
				if oldA.commit.DID != newA.commit.DID {
					out.Warnings = append(out.Warnings, fmt.Sprintf("different DIDs: OLD is %s, NEW is %s", oldA.commit.DID, newA.commit.DID))
				}
				if o, n := oldA.commit.Rev, newA.commit.Rev; o != "" && n != "" && n < o {
					out.Warnings = append(out.Warnings, fmt.Sprintf("NEW's rev %s is older than OLD's rev %s: the arguments may be swapped", n, o))
				}
			}
			for _, w := range out.Warnings {
				fmt.Fprintf(c.App.ErrWriter, "arbor: warning: %s\n", w)
			}

			// The proofs are only printed with --json; the human output
			// and the slice need the walk alone.
			compare := diff.Ops
			if c.Bool("json") {
				compare = diff.Compare
			}
			res, err := compare(oldA.blocks, oldA.data, newA.blocks, newA.data)
			if err != nil {
				return inputErr(err)
			}
			if sliceOut != "" {
				res.SortSets() // the slice's block order must not vary
			}
			// The framing of each file, as far as it was scanned (past
			// the last node; to the end with bodies), must be sound: a bad
			// section there is bad input even if the walk did not need it.
			for _, s := range []*snapshot{oldA, newA} {
				if err := s.wait(); err != nil {
					return inputErr(fmt.Errorf("%s: %w", displayName(s.name), err))
				}
			}
			fillDiffJSON(&out, res, coll, c.Bool("json"))
			if c.Bool("records") {
				addFieldDiffs(&out, oldA.blocks, newA.blocks)
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
// The CID lists are only made when lists is set (--json): the human form
// prints their sizes.
func fillDiffJSON(out *diffJSON, res *diff.Result, coll string, lists bool) {
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
	out.nodesNew, out.nodesGone = len(res.CreatedNodes), len(res.DeletedNodes)
	out.Visited.Old, out.Visited.New = res.OldVisited, res.NewVisited
	if !lists {
		return
	}
	out.CreatedNodes = car.CIDStrings(res.CreatedNodes)
	out.DeletedNodes = car.CIDStrings(res.DeletedNodes)
	out.CreatedRecords = car.CIDStrings(res.CreatedRecords)
	out.DeletedRecords = car.CIDStrings(res.DeletedRecords)
	out.ProofNodes = car.CIDStrings(res.ProofNodes)
	out.InductiveProofNodes = car.CIDStrings(res.InductiveProofNodes)
	out.CoveringProof = car.CIDStrings(res.CoveringProof)
}

// addFieldDiffs adds the field-level diff of every updated record.
func addFieldDiffs(out *diffJSON, oldA, newA blockSet) {
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
			o.FieldsError = "record blocks could not be read: " + strings.ReplaceAll(err.Error(), "\n", "; ")
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
func writeSlice(path string, oldA, newA *snapshot, res *diff.Result) (*sliceJSON, error) {
	sl := &sliceJSON{File: path, Root: newA.root.String()}
	err := build.WriteFileAtomic(path, 0o644, func(w io.Writer) error {
		cw, err := car.NewWriter(w, []cid.Cid{newA.root})
		if err != nil {
			return err
		}
		put := func(c cid.Cid, what string) error {
			b, err := newA.blocks.Get(c)
			if err != nil {
				return fmt.Errorf("NEW lacks %s block %s: %w", what, c, err)
			}
			sl.Blocks++
			return cw.Put(c, b)
		}
		for _, c := range res.CreatedNodes {
			if c == newA.root {
				continue // a bare tree's root goes last, like a commit
			}
			if err := put(c, "MST node"); err != nil {
				return err
			}
			sl.Nodes++
		}
		for _, c := range res.CreatedRecords {
			if oldA.blocks.Has(c) {
				continue // OLD already has this content under another path
			}
			if err := put(c, "record"); err != nil {
				return err
			}
			sl.Records++
		}
		if !oldA.blocks.Has(newA.root) {
			if err := put(newA.root, "root"); err != nil {
				return err
			}
			if newA.isBareTree() {
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
			p.green(num(out.Summary.Creates)), p.yellow(num(out.Summary.Updates)), p.red(num(out.Summary.Deletes)), scope)
	}
	_, err := fmt.Fprintf(w, "; MST: %s new, %s gone; read %s old and %s new\n",
		count(out.nodesNew, "node"), num(out.nodesGone), num(out.Visited.Old), count(out.Visited.New, "node"))
	if err == nil && out.Slice != nil {
		_, err = fmt.Fprintf(w, "wrote %s: %s (%s, %s), root %s\n",
			out.Slice.File, count(out.Slice.Blocks, "block"), count(out.Slice.Nodes, "MST node"), count(out.Slice.Records, "record"), out.Slice.Root)
	}
	return err
}

func applyCommand() *cli.Command {
	const usage = "BASE.car SLICE.car -o OUT.car [--key KEY] [--force] [--json]"
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
			if err := checkOverwrite(outName, c.Bool("force")); err != nil {
				return err
			}
			opts := archive.VerifyOptions{}
			if c.IsSet("key") {
				k, err := repo.LoadPublicKey(c.String("key"))
				if err != nil {
					return usageErr("--key: %v", err)
				}
				opts.Key = k
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
				return build.CheckCARWith(tmp, opts.Key, res.CommitCID, res.Records, prog.buildPhases(func(phase string) string { return outName + ": " + phase }))
			})
			prog.Stop()
			switch {
			case errors.Is(err, diff.ErrSliceMismatch), errors.Is(err, repo.ErrNotACommit):
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
			fmt.Fprintf(w, "  %s (%s created, %s updated, %s deleted), %s\n", count(res.Records, "record"), num(creates), num(updates), num(deletes), count(res.Nodes, "MST node"))
			fmt.Fprintf(w, "  %s from the base, %s from the slice\n", count(res.FromBase, "block"), num(res.FromSlice))
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

// blockSet is what the diff needs of a snapshot's blocks: a repo.Archive
// (a full read) or an indexSource (a mapped file read on demand).
type blockSet interface {
	mst.BlockSource
	Has(c cid.Cid) bool
}

// snapshot is one side of a diff: where its tree is and how to read it.
type snapshot struct {
	name      string
	read      string // "index" or "full", see snapshotJSON.Read
	root      cid.Cid
	data      cid.Cid      // the MST root
	commit    *repo.Commit // nil for a bare tree
	commitErr error        // why the root is neither a commit nor a tree
	blocks    blockSet
	// wait returns once the framing scan of an index has settled (see
	// car.Index.Settle) with its verdict; nil for a file read in full.
	wait  func() error
	close func()
}

func (s *snapshot) isBareTree() bool { return s.commit == nil && s.commitErr == nil }

// openSnapshots opens OLD and NEW at once. A regular file is indexed
// (car.OpenIndex with a background scan: mapped, its framing scanned on
// another goroutine as far as the walk needs, each block hash-checked when
// it is read), so the diff reads only the nodes it walks; standard
// input and anything else that is not a regular file is read in full by
// archive.ReadNodes, which checks every block. With bodies (--records,
// --car), the index of every block, records included, is built in the
// background while the trees are walked.
func openSnapshots(c *cli.Context, oldName, newName string, bodies bool) (oldS, newS *snapshot, err error) {
	var idx [2]*car.Index
	var errs [2]error
	var wg sync.WaitGroup
	for i, name := range []string{oldName, newName} {
		if !regularFile(name) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			idx[i], errs[i] = car.OpenIndex(name, car.WithBackgroundScan())
		}()
	}
	wg.Wait()
	closeAll := func() {
		for _, ix := range idx {
			if ix != nil {
				_ = ix.Close()
			}
		}
	}
	var snaps [2]*snapshot
	for i, name := range []string{oldName, newName} {
		if errs[i] != nil {
			closeAll()
			return nil, nil, inputErr(fmt.Errorf("%s: %w", displayName(name), errs[i]))
		}
		if idx[i] == nil {
			a, err := readSnapshot(c, name, bodies)
			if err != nil {
				closeAll()
				var ee *exitError
				if errors.As(err, &ee) && ee.code == ExitFail {
					// diff's exit 1 says the snapshots differ: one
					// that fails its checks is input diff cannot
					// compare (2), as in file mode.
					err = &exitError{code: ExitUsage, err: ee.err}
				}
				return nil, nil, err
			}
			snaps[i] = &snapshot{name: name, read: "full", root: a.Root, data: a.Data, commit: a.Commit,
				commitErr: a.CommitErr, blocks: a, wait: func() error { return nil }, close: func() {}}
			continue
		}
		s, err := indexSnapshot(name, idx[i])
		if err != nil {
			closeAll()
			return nil, nil, inputErr(fmt.Errorf("%s: %w", displayName(name), err))
		}
		snaps[i] = s
		if bodies {
			go idx[i].IndexAll()
		}
	}
	return snaps[0], snaps[1], nil
}

// regularFile reports whether name is a regular file (not standard input,
// a pipe or a device).
func regularFile(name string) bool {
	if name == stdinName {
		return false
	}
	st, err := os.Stat(name)
	return err == nil && st.Mode().IsRegular()
}

// indexSnapshot resolves an indexed file's root as archive.ReadNodes does:
// a commit, or an MST node for a bare tree.
func indexSnapshot(name string, ix *car.Index) (*snapshot, error) {
	roots := ix.Roots()
	if len(roots) == 0 {
		return nil, archive.ErrNoRoot
	}
	src := indexSource{ix}
	s := &snapshot{name: name, read: "index", root: roots[0], blocks: src, wait: ix.Settle, close: func() { _ = ix.Close() }}
	b, err := ix.Get(s.root)
	switch {
	case errors.Is(err, car.ErrNotFound):
		s.commitErr = fmt.Errorf("root block %s is not in the file", s.root)
		return s, nil
	case err != nil:
		return nil, err // a root whose bytes do not match: a full read fails too
	}
	s.commit, s.data, s.commitErr = archive.ReadRoot(s.root, b)
	return s, nil
}

// indexSource adapts a car.Index to mst.BlockSource: a block the file does
// not hold is reported with mst.ErrMissingBlock, as the tree walks expect.
type indexSource struct{ ix *car.Index }

// Get returns a block after checking its hash; see car.Index.Get.
func (s indexSource) Get(c cid.Cid) ([]byte, error) {
	b, err := s.ix.Get(c)
	if errors.Is(err, car.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", mst.ErrMissingBlock, err)
	}
	return b, err
}

// Has reports whether the file holds block c.
func (s indexSource) Has(c cid.Cid) bool { return s.ix.Has(c) }

// readSnapshot reads one side of a diff: with every block's bytes when the
// records are compared or written out, else with nodes whole.
func readSnapshot(c *cli.Context, name string, bodies bool) (*archive.Archive, error) {
	if bodies {
		b, err := readCAR(c, name, archive.ReadWithBodies, archive.Options{})
		if err != nil {
			return nil, err
		}
		return b.Archive, nil
	}
	return readCAR(c, name, archive.ReadNodes, archive.Options{})
}
