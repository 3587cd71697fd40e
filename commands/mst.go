package commands

import (
	"errors"
	"fmt"

	"github.com/arbor-atproto/arbor/archive"

	"github.com/urfave/cli/v2"

	"github.com/arbor-atproto/arbor/diff"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/view"
)

// malformedTree are the errors that say a repository's tree breaks the MST
// rules (or lacks a block it links to): verify lists each as a problem.
var malformedTree = []error{
	diff.ErrBadTree, mst.ErrBadKey, mst.ErrUnsorted, mst.ErrDuplicateKey, mst.ErrWrongLayer,
	mst.ErrEmptyNode, mst.ErrNonMinimalPrefix, mst.ErrMissingBlock, mst.ErrBadBlock,
	mst.ErrNotANode, mst.ErrCycle, mst.ErrRootMismatch,
}

// treeErr maps an error met while walking a repository's tree to an exit
// code, the same in every command: a malformed tree is a failed
// verification (1), as verify says of it; anything else (a file that
// cannot be read, a write error) is unreadable input (2).
func treeErr(err error) error {
	for _, s := range malformedTree {
		if errors.Is(err, s) {
			return withExit(ExitFail, err)
		}
	}
	return inputErr(err)
}

// rootErr is the exit for a repository whose root is not a commit or a
// tree (a missing root block, a commit that does not decode): a failed
// verification (1) in every command, as verify lists it among its
// problems.
func rootErr(err error) error {
	return &exitError{code: ExitFail, err: err}
}

// dotWarnSize is the number of boxes (nodes and records) above which
// mst --dot warns that Graphviz will struggle.
const dotWarnSize = 10_000

func mstCommand() *cli.Command {
	const usage = "FILE.car|- [--depth N] [--dot] [--full-cid] [--json]"
	return &cli.Command{
		Name:  "mst",
		Usage: "draw a repository's Merkle Search Tree: indented text, Graphviz DOT (--dot) or nested JSON",
		Description: "Text: one line per node (layer, CID, entry count, first .. last key under it), each record (key, CID)\n" +
			"indented under the node that holds it, in key order, and a summary line. --dot writes a digraph for\n" +
			"Graphviz (arbor mst repo.car --dot | dot -Tsvg > mst.svg). --depth N draws N levels of nodes (the root is\n" +
			"level 1) and shows each deeper subtree as one line. Graphviz is slow past a few thousand boxes: on a tree\n" +
			"with more than 10,000 nodes and records, --dot warns on standard error and suggests --depth.\n" +
			"--json writes one compact document as the tree is walked: {root, tree, nodes, records, depth, truncated},\n" +
			"each node {cid, layer, entryCount, firstKey, lastKey, left, entries: [{key, value, right}]}.",
		ArgsUsage: "FILE.car|-",
		Flags: []cli.Flag{
			jsonFlag,
			&cli.IntFlag{Name: "depth", Usage: "draw at most N levels of nodes (0: all)"},
			&cli.BoolFlag{Name: "dot", Usage: "write a Graphviz DOT graph"},
			&cli.BoolFlag{Name: "full-cid", Usage: "print CIDs whole instead of shortened"},
		},
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 1, 1, usage); err != nil {
				return err
			}
			if c.Int("depth") < 0 {
				return usageErr("--depth must be 0 (all) or more, not %d", c.Int("depth"))
			}
			if c.Bool("dot") && c.Bool("json") {
				return usageErr("give --dot or --json, not both")
			}
			// Nodes are read compact, as ls does: a node is decoded
			// when the walk reaches it.
			a, err := readCAR(c, c.Args().First(), archive.Read, archive.Options{})
			if err != nil {
				return err
			}
			if a.CommitErr != nil {
				return rootErr(a.CommitErr)
			}
			t := view.NewBrowser(a, a.Data)
			opts := view.RenderOptions{Depth: c.Int("depth"), FullCID: c.Bool("full-cid")}
			w := c.App.Writer
			switch {
			case c.Bool("json"):
				_, err = view.JSON(w, t, opts)
			case c.Bool("dot"):
				var s view.Summary
				s, err = view.DOT(w, t, opts)
				if err == nil && s.Nodes+s.Records > dotWarnSize {
					fmt.Fprintf(c.App.ErrWriter, "arbor: warning: the graph has %s and %s, more than Graphviz lays out in reasonable time; draw the top of the tree with --depth (--depth 4 shows at most a few hundred nodes)\n",
						count(s.Nodes, "node"), count(s.Records, "record"))
				}
			default:
				_, err = view.Text(w, t, opts)
			}
			return treeErr(err)
		},
	}
}
