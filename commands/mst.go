package commands

import (
	"github.com/urfave/cli/v2"

	"github.com/arbor-atproto/arbor/view"
)

func mstCommand() *cli.Command {
	const usage = "FILE.car|- [--depth N] [--dot] [--full-cid] [--json]"
	return &cli.Command{
		Name:  "mst",
		Usage: "draw a repository's Merkle Search Tree: indented text, Graphviz DOT (--dot) or nested JSON",
		Description: "Text: one line per node (layer, CID, entry count, first .. last key under it), each record (key, CID)\n" +
			"indented under the node that holds it, in key order, and a summary line. --dot writes a digraph for\n" +
			"Graphviz (arbor mst repo.car --dot | dot -Tsvg > mst.svg). --depth N draws N levels of nodes (the root is\n" +
			"level 1) and shows each deeper subtree as one line.",
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
			a, err := readArchive(c, c.Args().First(), false)
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
				nt, err := view.Nested(t, opts)
				if err != nil {
					return inputErr(err)
				}
				return printJSON(w, nt)
			case c.Bool("dot"):
				_, err = view.DOT(w, t, opts)
			default:
				_, err = view.Text(w, t, opts)
			}
			return inputErr(err)
		},
	}
}
