package commands

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/arbor-atproto/arbor/repo"
	"github.com/arbor-atproto/arbor/view"
)

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
			a, err := readArchiveOpts(c, c.Args().First(), repo.LoadOptions{CompactNodes: true})
			if err != nil {
				return err
			}
			if a.CommitErr != nil {
				return inputErr(a.CommitErr)
			}
			t := view.NewTree(a, a.Data)
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
			return inputErr(err)
		},
	}
}
