package commands

import (
	"bufio"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/urfave/cli/v2"

	"github.com/arbor-atproto/arbor/archive"
	"github.com/arbor-atproto/arbor/fetch"
)

// batchFlags are verify's flags for checking many repositories in one run.
func batchFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "batch", Usage: "verify many repositories: `LIST|DIR|-` (a file of CAR paths, one a line; a folder, searched for *.car; - for the list on standard input; " +
			"with --resolve, a line may also be a DID or an at:// URI, fetched from its PDS, and every repository is checked against its DID document's key). " +
			"Prints one JSON line per repository, in list order, then a summary line; exit 1 if any is not valid"},
		&cli.IntFlag{Name: "workers", Usage: "with --batch: repositories verified at once (default: all cores)"},
		shardFlag,
	}
}

// verifyBatch is arbor verify --batch.
func verifyBatch(c *cli.Context) error {
	if err := needArgs(c, 0, 0, "--batch LIST|DIR|- [--shard i/n] [--key ...]"); err != nil {
		return err
	}
	if c.IsSet("record") {
		return usageErr("--batch checks whole repositories, not a --record proof")
	}
	opts, err := verifyOptions(c)
	if err != nil {
		return err
	}
	sh, err := parseShard(c)
	if err != nil {
		return err
	}
	paths, err := batchPaths(c, c.String("batch"))
	if err != nil {
		return err
	}
	bo := archive.BatchOptions{Workers: c.Int("workers"), Verify: opts, Shard: sh.Index, Shards: sh.Count}
	if err := batchResolve(c, paths, &bo); err != nil {
		return err
	}
	var done atomic.Int64
	mine := int64((len(paths) + sh.Count - 1 - sh.Index) / sh.Count)
	p := startPhases(c.App.ErrWriter, phase{label: "verifying", total: mine, unit: "repo", read: done.Load})
	out := bufio.NewWriterSize(c.App.Writer, 64<<10)
	bo.Done = &done
	sum, err := archive.VerifyBatch(paths, bo, func(l *archive.BatchLine) error { return printJSONLine(out, l) })
	p.Stop()
	if err == nil {
		err = printJSONLine(out, map[string]*archive.BatchSummary{"summary": sum})
	}
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	if sum.Failed() {
		return silentExit(ExitFail)
	}
	return nil
}

// batchResolve is --batch with --resolve: items naming an account (a DID,
// an at:// URI) are fetched from its PDS, and every repository is checked
// against its DID document's key. Without --resolve such an item is bad
// usage.
func batchResolve(c *cli.Context, paths []string, bo *archive.BatchOptions) error {
	if !c.Bool("resolve") {
		for _, p := range paths {
			if fetch.IsIdentifier(p) {
				return usageErr("--batch: %s names an account, not a file: give --resolve to fetch it", p)
			}
		}
		return nil
	}
	res, err := newResolver(c)
	if err != nil {
		return err
	}
	b := &fetch.Batch{Resolver: res}
	bo.Open, bo.Options = b.Open, b.Options
	return nil
}

// batchPaths lists the repositories of --batch: a folder's *.car files
// (searched below it, in path order), or the lines of a list file or of
// standard input (blank lines and lines starting with # skipped).
func batchPaths(c *cli.Context, name string) ([]string, error) {
	if fi, err := os.Stat(name); err == nil && fi.IsDir() {
		var paths []string
		err := filepath.WalkDir(name, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(d.Name(), ".car") {
				paths = append(paths, p)
			}
			return nil
		})
		if err != nil {
			return nil, inputErr(err)
		}
		sort.Strings(paths)
		return paths, nil
	}
	in, err := openInput(c, name)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	return readPathList(in)
}

func readPathList(r io.Reader) ([]string, error) {
	var paths []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			paths = append(paths, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, inputErr(err)
	}
	return paths, nil
}
