package commands

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/arbor-atproto/arbor/repo"
	"github.com/arbor-atproto/arbor/view"
)

func viewCommand() *cli.Command {
	const usage = "FILE.car [OTHER.car] [--addr HOST:PORT] [--key did:key:...]"
	return &cli.Command{
		Name:  "view",
		Usage: "browse a repository (or the diff of two) in a local web page: commit, collections, records, the MST",
		Description: "Serves a page from the binary itself (nothing is fetched from elsewhere) and prints its URL; stops on\n" +
			"Ctrl-C (SIGINT) or SIGTERM. The page loads nodes and records on demand. With OTHER.car it shows the diff\n" +
			"from FILE to OTHER: changed records highlighted, MST nodes only one side has marked.",
		ArgsUsage: "FILE.car [OTHER.car]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:0", Usage: "address to listen on (port 0: any free port)"},
			&cli.StringFlag{Name: "key", Usage: "check the commit signature against this public key (did:key:... or multibase)"},
		},
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 1, 2, usage); err != nil {
				return err
			}
			if c.NArg() == 2 && c.Args().Get(0) == stdinName && c.Args().Get(1) == stdinName {
				return usageErr("only one of FILE and OTHER can be standard input")
			}
			var opts view.Options
			if c.IsSet("key") {
				k, err := repo.LoadPublicKey(c.String("key"))
				if err != nil {
					return usageErr("--key: %v", err)
				}
				opts.Key = k
			}
			var inputs []view.Input
			for _, name := range c.Args().Slice() {
				a, err := readArchive(c, name, true)
				if err != nil {
					return err
				}
				inputs = append(inputs, view.Input{Name: displayName(name), Archive: a})
			}
			srv, err := view.NewServer(inputs, opts)
			if err != nil {
				return inputErr(err)
			}
			ln, err := net.Listen("tcp", c.String("addr"))
			if err != nil {
				return usageErr("--addr: %v", err)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
			done := make(chan error, 1)
			go func() { done <- hs.Serve(ln) }()
			fmt.Fprintf(c.App.Writer, "http://%s/\n", ln.Addr())
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
		},
	}
}
