package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/arbor-atproto/arbor/archive"

	"github.com/urfave/cli/v2"

	"github.com/arbor-atproto/arbor/repo"
	"github.com/arbor-atproto/arbor/view"
)

// readLazyArchive reads a repository whose record bodies are wanted on
// demand (view, get). A regular file is read with archive.ReadLazy:
// record bodies stay in the file and are read (and hash-checked) again when
// one is asked for, so the file is returned open, to be closed when done.
// Standard input and other streams keep the bodies in memory; the returned
// file is then nil. Nodes are kept compact either way.
func readLazyArchive(c *cli.Context, name string) (*archive.Lazy, *os.File, error) {
	if name == stdinName {
		a, err := readCAR(c, name, archive.ReadLazy, archive.Options{})
		return a, nil, err
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, inputErr(err)
	}
	var total int64
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		total = st.Size()
	}
	var read atomic.Int64 // written by the reader, read by the progress line
	p := startProgress(c.App.ErrWriter, "reading "+displayName(name), total, read.Load)
	a, err := archive.ReadLazy(f, archive.Options{Progress: read.Store})
	p.Stop()
	if err != nil {
		f.Close()
		return nil, nil, archiveErr(name, err)
	}
	capHeap()
	if !a.FromFile() {
		f.Close()
		return a, nil, nil
	}
	return a, f, nil
}

func viewCommand() *cli.Command {
	return &cli.Command{
		Name:  "view",
		Usage: "browse a repository (or the diff of two) in a local web page: commit, collections, records, the MST",
		Description: "Serves a page from the binary itself (nothing is fetched from elsewhere) and prints its URL; stops on\n" +
			"Ctrl-C (SIGINT) or SIGTERM. The page loads nodes and records on demand. With OTHER.car it shows the diff\n" +
			"from FILE to OTHER: changed records highlighted, MST nodes only one side has marked.",
		ArgsUsage: "FILE.car [OTHER.car]",
		Flags: []cli.Flag{
			jsonFlag,
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:0", Usage: "address to listen on (port 0: any free port)"},
			&cli.StringFlag{Name: "key", Usage: "check the commit signature against this public key (did:key:... or multibase)"},
		},
		Action: viewAction,
	}
}

const viewUsage = "FILE.car [OTHER.car] [--addr HOST:PORT] [--key did:key:...]"

func viewAction(c *cli.Context) error {
	if err := needArgs(c, 1, 2, viewUsage); err != nil {
		return err
	}
	srv, closeAll, err := newViewServer(c)
	if err != nil {
		return err
	}
	defer closeAll()
	ln, err := net.Listen("tcp", c.String("addr"))
	if err != nil {
		return usageErr("--addr: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	line := view.ServingLine{URL: fmt.Sprintf("http://%s/", ln.Addr()), Files: c.Args().Slice()}
	if c.Bool("json") {
		// One line, so a script can read it while the server runs.
		if err := json.NewEncoder(c.App.Writer).Encode(line); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(c.App.Writer, line.URL)
	}
	fmt.Fprintf(c.App.ErrWriter, "arbor view: serving on http://%s/ (Ctrl-C to stop)\n", ln.Addr())
	select {
	case err := <-done:
		return inputErr(err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := hs.Shutdown(shut); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return inputErr(err)
	}
	return nil
}

// newViewServer reads the repositories named and makes the page's server;
// closeAll closes the files it keeps open.
func newViewServer(c *cli.Context) (srv *view.Server, closeAll func(), err error) {
	var files []*os.File
	closeFiles := func() {
		for _, f := range files {
			f.Close()
		}
	}
	defer func() {
		if err != nil {
			closeFiles()
		}
	}()
	if c.NArg() == 2 && c.Args().Get(0) == stdinName && c.Args().Get(1) == stdinName {
		return nil, nil, usageErr("only one of FILE and OTHER can be standard input")
	}
	var opts view.Options
	if c.IsSet("key") {
		k, err := repo.LoadPublicKey(c.String("key"))
		if err != nil {
			return nil, nil, usageErr("--key: %v", err)
		}
		opts.Key = k
	}
	var inputs []view.Input
	for _, name := range c.Args().Slice() {
		a, f, err := readLazyArchive(c, name)
		if err != nil {
			return nil, nil, err
		}
		if f != nil {
			files = append(files, f)
		}
		inputs = append(inputs, view.Input{Name: displayName(name), Archive: a})
	}
	st := startStatus(c.App.ErrWriter, "checking the repository")
	srv, err = view.NewServer(inputs, opts)
	st.Stop()
	if err != nil {
		return nil, nil, treeErr(err)
	}
	return srv, closeFiles, nil
}
