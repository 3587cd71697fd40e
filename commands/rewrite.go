package commands

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/urfave/cli/v2"

	"github.com/arbor-atproto/arbor/build"
	"github.com/arbor-atproto/arbor/repo"
)

func rewriteCommand() *cli.Command {
	const usage = "IN.car -o OUT.car [--key KEYFILE] [--did DID] [--rev TID] [--drop-collection NSID]... [--keep-collection NSID]... [--drop PATH]... [--compact] [--repair] [--force]"
	return &cli.Command{
		Name:  "rewrite",
		Usage: "write a transformed copy of a repository: new key, new DID, records or collections removed, compacted",
		Description: "The input is verified first (an invalid one is refused unless --repair, which rebuilds its tree from its\n" +
			"records). Dropping records, --did and --rev change the commit, which is then signed with --key.\n" +
			"With records dropped the tree is rebuilt and the dropped records' blocks are left out. Otherwise the input's\n" +
			"blocks are kept in their order (only the commit replaced), so a rewrite with no option is a byte-for-byte copy;\n" +
			"--compact keeps only the current commit, tree and records, each once. The output is verified before it is\n" +
			"renamed to OUT.car (an existing OUT.car is refused unless --force); IN.car is never modified.",
		ArgsUsage: "IN.car -o OUT.car",
		Flags: []cli.Flag{
			jsonFlag,
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "the new repository `FILE` (required; not the input)"},
			&cli.StringFlag{Name: "key", Usage: "sign the new commit with this `KEYFILE` or private multibase key"},
			&cli.StringFlag{Name: "did", Usage: "move the repository to this `DID`"},
			&cli.StringFlag{Name: "rev", Usage: "the new commit's rev, a `TID` (default: now, or just after the old rev)"},
			&cli.StringSliceFlag{Name: "drop-collection", Usage: "drop every record of this `NSID` (repeatable)"},
			&cli.StringSliceFlag{Name: "keep-collection", Usage: "drop every record not in this `NSID` (repeatable)"},
			&cli.StringSliceFlag{Name: "drop", Usage: "drop the record at this `PATH` collection/rkey (repeatable)"},
			&cli.BoolFlag{Name: "compact", Usage: "keep only the current commit, tree and records, each block once"},
			&cli.BoolFlag{Name: "repair", Usage: "accept an input that fails verification and rebuild its tree (needs --key)"},
			forceFlag,
		},
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 1, 1, usage); err != nil {
				return err
			}
			in, out := c.Args().First(), c.String("output")
			if out == "" {
				return usageErr("usage: arbor rewrite %s (-o OUT.car is required)", usage)
			}
			if err := distinctOutput(in, out); err != nil {
				return err
			}
			if err := checkOverwrite(out, c.Bool("force")); err != nil {
				return err
			}
			opts := build.RewriteOptions{
				DID: c.String("did"), Rev: c.String("rev"),
				DropCollections: c.StringSlice("drop-collection"),
				KeepCollections: c.StringSlice("keep-collection"),
				DropPaths:       c.StringSlice("drop"),
				Compact:         c.Bool("compact"), Force: c.Bool("repair"),
			}
			if opts.DID != "" {
				if err := checkDIDFlag(opts.DID); err != nil {
					return err
				}
			}
			if opts.Rev != "" {
				if _, err := repo.ParseTID(opts.Rev); err != nil {
					return usageErr("--rev: %v", err)
				}
			}
			var pub atcrypto.PublicKey
			if c.IsSet("key") {
				key, err := repo.LoadPrivateKey(c.String("key"))
				if err != nil {
					return usageErr("--key: %v", err)
				}
				if pub, err = key.PublicKey(); err != nil {
					return usageErr("--key: %v", err)
				}
				opts.Key = key
			}
			var src io.Reader
			if in == stdinName {
				src = c.App.Reader
			} else {
				f, err := os.Open(in)
				if err != nil {
					return inputErr(err)
				}
				defer f.Close()
				src = f
			}
			var res *build.RewriteResult
			prog := startStatus(c.App.ErrWriter, "rewriting "+displayName(in))
			err := build.WriteFileAtomic(out, 0o644, func(w io.Writer) error {
				var err error
				res, err = build.Rewrite(src, w, opts)
				return err
			}, func(tmp string) error {
				return build.CheckCARWith(tmp, pub, res.NewCommit, res.RecordsOut, prog.buildPhases(func(phase string) string { return out + ": " + phase }))
			})
			prog.Stop()
			if err != nil {
				return buildErr(fmt.Errorf("%s: %w", displayName(in), err))
			}
			return printRewrite(c, in, out, res)
		},
	}
}

func printRewrite(c *cli.Context, in, out string, res *build.RewriteResult) error {
	w := c.App.Writer
	type dropped struct {
		Collection string `json:"collection"`
		Records    int    `json:"records"`
	}
	var drops []dropped
	for k, n := range res.Dropped {
		drops = append(drops, dropped{k, n})
	}
	sort.Slice(drops, func(i, j int) bool { return drops[i].Collection < drops[j].Collection })
	if c.Bool("json") {
		probs := []string{}
		for _, p := range res.InputErrors {
			probs = append(probs, p.Error())
		}
		if drops == nil {
			drops = []dropped{}
		}
		return printJSON(w, struct {
			Input         string    `json:"input"`
			Output        string    `json:"output"`
			Unchanged     bool      `json:"unchanged"`
			OldCommit     string    `json:"oldCommit"`
			NewCommit     string    `json:"newCommit"`
			OldData       string    `json:"oldData"`
			NewData       string    `json:"newData"`
			OldDID        string    `json:"oldDid"`
			NewDID        string    `json:"newDid"`
			OldRev        string    `json:"oldRev"`
			NewRev        string    `json:"newRev"`
			SigningKey    string    `json:"signingKey,omitempty"`
			TreeRebuilt   bool      `json:"treeRebuilt"`
			Layout        string    `json:"layout"`
			RecordsIn     int       `json:"recordsIn"`
			RecordsOut    int       `json:"recordsOut"`
			Dropped       []dropped `json:"dropped"`
			BlocksIn      int       `json:"blocksIn"`
			BlocksOut     int       `json:"blocksOut"`
			BytesIn       int64     `json:"bytesIn"`
			BytesOut      int64     `json:"bytesOut"`
			InputProblems []string  `json:"inputProblems"`
		}{displayName(in), out, res.Unchanged, res.OldCommit.String(), res.NewCommit.String(), res.OldData.String(), res.NewData.String(),
			res.OldDID, res.NewDID, res.OldRev, res.NewRev, res.SigningKey, res.TreeRebuilt, res.Layout,
			res.RecordsIn, res.RecordsOut, drops, res.BlocksIn, res.BlocksOut, res.BytesIn, res.BytesOut, probs})
	}
	p := newPainter(w)
	if res.Unchanged {
		fmt.Fprintf(w, "%s %s: nothing to change; %s is a byte-for-byte copy (%s, %s)\n", p.green("✓"), displayName(in), out, count(res.BlocksOut, "block"), humanBytes(res.BytesOut))
		return nil
	}
	fmt.Fprintf(w, "%s rewrote %s to %s (verified)\n", p.green("✓"), displayName(in), out)
	change := func(name, old, new string) {
		if old == new {
			fmt.Fprintf(w, "  %-8s %s (unchanged)\n", name, old)
		} else {
			fmt.Fprintf(w, "  %-8s %s -> %s\n", name, old, new)
		}
	}
	change("did", res.OldDID, res.NewDID)
	change("rev", res.OldRev, res.NewRev)
	change("commit", res.OldCommit.String(), res.NewCommit.String())
	change("data", res.OldData.String(), res.NewData.String())
	if res.SigningKey != "" {
		fmt.Fprintf(w, "  %-8s %s\n", "signed", res.SigningKey)
	}
	fmt.Fprintf(w, "  %-8s %s -> %s\n", "records", num(res.RecordsIn), num(res.RecordsOut))
	for _, d := range drops {
		fmt.Fprintf(w, "    dropped %s %s\n", num(d.Records), d.Collection)
	}
	fmt.Fprintf(w, "  %-8s %s -> %s (%s -> %s), %s layout\n", "blocks", num(res.BlocksIn), num(res.BlocksOut), humanBytes(res.BytesIn), humanBytes(res.BytesOut), res.Layout)
	if len(res.InputErrors) > 0 {
		fmt.Fprintf(w, "  %s the input had %s (--repair); first: %s\n", p.yellow("!"), count(len(res.InputErrors), "problem"), strings.TrimSpace(res.InputErrors[0].Error()))
	}
	return nil
}
