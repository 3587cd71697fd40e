package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/arbor-atproto/arbor/pds"
)

// pdsCommand is `arbor pds`: a throwaway local PDS.
func pdsCommand() *cli.Command {
	return &cli.Command{
		Name:        "pds",
		Usage:       "run a throwaway local PDS (XRPC server with an embedded store and did:plc directory)",
		Subcommands: []*cli.Command{pdsServeCommand()},
	}
}

func pdsServeCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "serve a local PDS until Ctrl-C (SIGINT) or SIGTERM",
		Description: "Starts an XRPC server (com.atproto.server, repo, sync and identity) that official clients accept.\n" +
			"Without --data everything lives in a temporary directory deleted on exit; with --data DIR the\n" +
			"SQLite database and blobs persist and a restart serves the same accounts, records, blobs and\n" +
			"sequence numbers. With --plc embedded (the default) the server is also a did:plc directory at its\n" +
			"own URL (GET /DID, /DID/data, /DID/log, /DID/log/audit; POST /DID), so `arbor plc history\n" +
			"--plc-host URL` works against it. Prints one line when ready: the URL, the admin password and\n" +
			"the directory URL (with --json, one JSON object).",
		Flags: []cli.Flag{
			jsonFlag,
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:2583", Usage: "address to listen on (port 0: any free port)"},
			&cli.StringFlag{Name: "data", Usage: "directory for the database and blobs (default: a temporary one, deleted on exit)"},
			&cli.StringFlag{Name: "hostname", Value: "localhost", Usage: "service hostname (the server's DID is did:web:HOSTNAME)"},
			&cli.StringSliceFlag{Name: "handle-domain", Usage: "handle suffix accounts may use (repeatable; default .test)"},
			&cli.StringFlag{Name: "plc", Value: "embedded", Usage: `did:plc directory: "embedded" or a directory URL`},
			&cli.StringFlag{Name: "public-url", Usage: "URL clients reach the server at (default: http://ADDR as bound)"},
			&cli.Int64Flag{Name: "blob-limit", Value: pds.DefaultMaxBlobSize, Usage: "largest blob upload, in bytes"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErr("usage: arbor pds serve [--addr HOST:PORT] [--data DIR] [--hostname NAME] [--handle-domain .test] [--plc embedded|URL]")
			}
			cfg := pds.Config{
				DataDir:       c.String("data"),
				Hostname:      c.String("hostname"),
				HandleDomains: c.StringSlice("handle-domain"),
				MaxBlobSize:   c.Int64("blob-limit"),
			}
			if p := c.String("plc"); p != "embedded" {
				u, err := url.Parse(p)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return usageErr(`--plc: %q is neither "embedded" nor an http(s) URL`, p)
				}
				cfg.PLCURL = p
			}
			ln, err := net.Listen("tcp", c.String("addr"))
			if err != nil {
				return usageErr("--addr: %v", err)
			}
			defer ln.Close()
			cfg.PublicURL = c.String("public-url")
			if cfg.PublicURL == "" {
				cfg.PublicURL = "http://" + ln.Addr().String()
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			srv, err := pds.Open(cfg)
			if err != nil {
				return inputErr(err)
			}
			defer srv.Close()
			hs := srv.HTTPServer()
			done := make(chan error, 1)
			go func() { done <- hs.Serve(ln) }()
			data := c.String("data")
			if c.Bool("json") {
				out := map[string]any{"url": srv.URL(), "adminPassword": srv.AdminPassword(), "plc": srv.PLCURL(), "data": data}
				if data == "" {
					out["data"] = nil
				}
				if err := printJSONLine(c.App.Writer, out); err != nil {
					return err
				}
			} else {
				where := "data " + data
				if data == "" {
					where = "temporary data (deleted on exit)"
				}
				fmt.Fprintf(c.App.Writer, "arbor pds: serving %s admin-password %s plc %s %s\n", srv.URL(), srv.AdminPassword(), srv.PLCURL(), where)
			}
			select {
			case err := <-done:
				return inputErr(err)
			case <-ctx.Done():
			}
			shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := hs.Shutdown(shut); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				return inputErr(err)
			}
			return nil
		},
	}
}

// printJSONLine writes v as one line of compact JSON.
func printJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
