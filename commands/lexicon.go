package commands

import (
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/arbor-atproto/arbor/archive"
	"github.com/arbor-atproto/arbor/lexicon"
)

func lexiconCommand() *cli.Command {
	return &cli.Command{
		Name:  "lexicon",
		Usage: "validate records against Lexicon schemas, check schema files, list the catalog",
		Description: "The catalog is the official schemas (com.atproto, app.bsky, chat.bsky, tools.ozone) built into arbor,\n" +
			"plus the *.json schema files below each --lexicon-dir folder, which add to it or replace a schema of the same NSID.",
		Subcommands: []*cli.Command{
			lexiconValidateCommand(),
			lexiconLintCommand(),
			lexiconLsCommand(),
		},
	}
}

// lexiconDirFlag is --lexicon-dir, shared with verify --lexicon.
var lexiconDirFlag = &cli.StringSliceFlag{Name: "lexicon-dir", Usage: "add the schema files below `DIR` to the catalog (repeatable; later folders override earlier ones and the built-in schemas)"}

// loadCatalog loads the catalog with c's --lexicon-dir folders; a folder
// that cannot be read or holds a bad schema is unreadable input.
func loadCatalog(c *cli.Context) (*lexicon.Catalog, error) {
	cat, err := lexicon.Load(c.StringSlice("lexicon-dir")...)
	if err != nil {
		return nil, inputErr(fmt.Errorf("--lexicon-dir: %w", err))
	}
	return cat, nil
}

func lexiconValidateCommand() *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "validate records (atproto JSON, one per file) against the schema their $type names",
		ArgsUsage: "RECORD.json|-...",
		Description: "Prints each record's verdict: valid, invalid (each problem as a JSON path in the record and the rule broken)\n" +
			"or unknown (no schema for its $type). Exit status: 0 every record valid, 1 any invalid or unknown,\n" +
			"2 unreadable input or bad usage.",
		Flags:  []cli.Flag{jsonFlag, lexiconDirFlag},
		Action: lexiconValidate,
	}
}

func lexiconValidate(c *cli.Context) error {
	if err := needArgs(c, 1, -1, "[--lexicon-dir DIR]... RECORD.json|-..."); err != nil {
		return err
	}
	cat, err := loadCatalog(c)
	if err != nil {
		return err
	}
	rep, err := cat.ValidateFiles(c.Args().Slice(), c.App.Reader, displayName(stdinName))
	if err != nil {
		return inputErr(err)
	}
	if err := printResult(c, rep, printValidateReport); err != nil {
		return err
	}
	if rep.Invalid+rep.Unknown > 0 {
		return silentExit(ExitFail)
	}
	return nil
}

func printValidateReport(w io.Writer, rep *lexicon.ValidateReport) error {
	p := newPainter(w)
	for _, r := range rep.Records {
		switch r.Status {
		case lexicon.Valid:
			fmt.Fprintf(w, "%s %s: valid %s\n", p.green("✓"), r.File, r.Type)
		case lexicon.NoSchema:
			fmt.Fprintf(w, "%s %s: no schema for $type %s\n", p.yellow("?"), r.File, r.Type)
		default:
			fmt.Fprintf(w, "%s %s: INVALID %s\n", p.red("✗"), r.File, r.Type)
			for _, is := range r.Issues {
				fmt.Fprintf(w, "    %s: %s (%s)\n", is.Path, is.Message, is.Rule)
			}
		}
	}
	return nil
}

func lexiconLintCommand() *cli.Command {
	return &cli.Command{
		Name:        "lint",
		Usage:       "check that schema files parse and are well-formed Lexicon",
		ArgsUsage:   "FILE|DIR...",
		Description: "A folder stands for the *.json files below it. Exit status: 0 all valid, 1 any invalid, 2 unreadable.",
		Flags:       []cli.Flag{jsonFlag},
		Action:      lexiconLint,
	}
}

func lexiconLint(c *cli.Context) error {
	if err := needArgs(c, 1, -1, "FILE|DIR..."); err != nil {
		return err
	}
	rep, err := lexicon.Lint(c.Args().Slice())
	if err != nil {
		return inputErr(err)
	}
	if err := printResult(c, rep, func(w io.Writer, rep *lexicon.LintReport) error {
		p := newPainter(w)
		for _, f := range rep.Files {
			if f.Error != "" {
				fmt.Fprintf(w, "%s %s: %s\n", p.red("✗"), f.File, f.Error)
			} else {
				fmt.Fprintf(w, "%s %s: %s\n", p.green("✓"), f.File, f.NSID)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if !rep.Valid {
		return silentExit(ExitFail)
	}
	return nil
}

func lexiconLsCommand() *cli.Command {
	return &cli.Command{
		Name:      "ls",
		Usage:     "list the schemas of the catalog: NSID, main type, where it comes from",
		ArgsUsage: " ",
		Flags:     []cli.Flag{jsonFlag, lexiconDirFlag},
		Action:    lexiconLs,
	}
}

func lexiconLs(c *cli.Context) error {
	if err := needArgs(c, 0, 0, "[--lexicon-dir DIR]..."); err != nil {
		return err
	}
	cat, err := loadCatalog(c)
	if err != nil {
		return err
	}
	return printResult(c, cat.List(), func(w io.Writer, l *lexicon.CatalogList) error {
		for _, s := range l.Schemas {
			src := s.Source
			if s.Overrides {
				src += " (overrides)"
			}
			fmt.Fprintf(w, "%-60s %-14s %s\n", s.NSID, s.Type, src)
		}
		fmt.Fprintf(w, "%d schemas: %d embedded, %d from --lexicon-dir\n", len(l.Schemas), l.Embedded, l.Added)
		return nil
	})
}

// lexiconVerifyFlags are verify's lexicon flags.
func lexiconVerifyFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "lexicon", Usage: "also validate every record against its Lexicon schema"},
		lexiconDirFlag,
		&cli.BoolFlag{Name: "lexicon-strict", Usage: "with --lexicon, fail on records whose $type has no known schema (reported otherwise)"},
		&cli.StringFlag{Name: "blobs", Usage: "with --lexicon, check the blobs the records reference against the files of `DIR` (as arbor fetch --blobs writes them)"},
	}
}

// verifyLexicon is verify's lexicon check, nil without --lexicon (which
// --lexicon-dir, --lexicon-strict and --blobs imply).
func verifyLexicon(c *cli.Context, opts archive.VerifyOptions) (*lexicon.RepoCheck, error) {
	if !c.Bool("lexicon") && !c.IsSet("lexicon-dir") && !c.Bool("lexicon-strict") && !c.IsSet("blobs") {
		return nil, nil
	}
	if opts.Record != "" {
		return nil, usageErr("--lexicon checks a whole repository, not a proof of one record (--record)")
	}
	cat, err := loadCatalog(c)
	if err != nil {
		return nil, err
	}
	chk := lexicon.NewRepoCheck(cat)
	chk.Strict = c.Bool("lexicon-strict")
	if dir := c.String("blobs"); dir != "" {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return nil, inputErr(fmt.Errorf("--blobs: %s is not a folder", dir))
		}
		chk.SetBlobDir(dir)
	}
	return chk, nil
}

// printLexiconReport prints verify --lexicon's findings.
func printLexiconReport(w io.Writer, p painter, rep *lexicon.RepoReport) {
	for _, ir := range rep.InvalidRecords {
		fmt.Fprintf(w, "%s %s: INVALID %s\n", p.red("✗"), ir.Path, ir.Type)
		for _, is := range ir.Issues {
			fmt.Fprintf(w, "    %s: %s (%s)\n", is.Path, is.Message, is.Rule)
		}
	}
	fmt.Fprintf(w, "lexicon: %s: %d valid, %d invalid, %d of no known schema\n", count(rep.Records, "record"), rep.Valid, rep.Invalid, rep.Unknown)
	for _, cv := range rep.Collections {
		line := fmt.Sprintf("  %-40s %8d records: %d valid, %d invalid, %d unknown", cv.Collection, cv.Records, cv.Valid, cv.Invalid, cv.Unknown)
		if cv.Unchecked > 0 {
			line += fmt.Sprintf(", %d unchecked", cv.Unchecked)
		}
		fmt.Fprintln(w, line)
	}
	if b := rep.Blobs; b.Dir != "" {
		fmt.Fprintf(w, "  blobs: %d referenced, %d found in %s, %d problems\n", b.Referenced, b.Checked, b.Dir, len(b.Problems))
	} else if b.Referenced > 0 {
		fmt.Fprintf(w, "  blobs: %d referenced (not checked against files: give --blobs DIR)\n", b.Referenced)
	}
}
