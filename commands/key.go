package commands

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/urfave/cli/v2"

	"github.com/arbor-atproto/arbor/build"
	"github.com/arbor-atproto/arbor/repo"
)

func keyCommand() *cli.Command {
	return &cli.Command{
		Name:  "key",
		Usage: "generate and inspect atproto signing keys (k256, p256)",
		Subcommands: []*cli.Command{
			keyGenerateCommand(),
			keyInspectCommand(),
		},
	}
}

func keyGenerateCommand() *cli.Command {
	return &cli.Command{
		Name:  "generate",
		Usage: "make a new keypair",
		Description: "With -o FILE the private key (multibase, as goat and the reference tools print it) is written to\n" +
			"FILE with mode 0600 (never overwriting a file) and only the public did:key is printed.\n" +
			"Without -o the private key is printed on standard output, because that is what was asked for:\n" +
			"keep it out of logs and shell history.",
		ArgsUsage: " ",
		Flags: []cli.Flag{
			jsonFlag,
			&cli.StringFlag{Name: "type", Value: "k256", Usage: "key type: k256 (secp256k1) or p256 (NIST P-256)"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the private key to `FILE` (mode 0600) instead of printing it"},
		},
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 0, 0, "[--type k256|p256] [-o FILE] [--json]"); err != nil {
				return err
			}
			typ := strings.ToLower(c.String("type"))
			if typ != "k256" && typ != "p256" {
				return usageErr("--type: %q is not a key type (want k256 or p256)", c.String("type"))
			}
			key, err := build.GenerateKey(typ)
			if err != nil {
				return err
			}
			pub, err := key.PublicKey()
			if err != nil {
				return err
			}
			file := c.String("output")
			if file != "" {
				if err := build.WriteKeyFile(file, key); err != nil {
					return inputErr(err)
				}
			}
			out := struct {
				Type               string `json:"type"`
				PrivateKey         string `json:"privateKey,omitempty"`
				File               string `json:"file,omitempty"`
				DIDKey             string `json:"didKey"`
				PublicKeyMultibase string `json:"publicKeyMultibase"`
			}{Type: typ, File: file, DIDKey: pub.DIDKey(), PublicKeyMultibase: pub.Multibase()}
			if file == "" {
				out.PrivateKey = key.Multibase()
			}
			w := c.App.Writer
			if c.Bool("json") {
				return printJSON(w, out)
			}
			if file != "" {
				fmt.Fprintf(w, "wrote %s private key to %s (mode 0600)\n", typ, file)
			} else {
				fmt.Fprintf(w, "private key: %s  (%s, multibase; keep it secret)\n", out.PrivateKey, typ)
			}
			fmt.Fprintf(w, "public key:  %s\n", out.DIDKey)
			return nil
		},
	}
}

func keyInspectCommand() *cli.Command {
	return &cli.Command{
		Name:  "inspect",
		Usage: "show a key's type and public did:key, and whether it is private (never prints a private key)",
		Description: "KEY is a key file, a key string (private multibase, 64 hex digits for a raw k256 key,\n" +
			"did:key or public multibase), or - to read it from standard input.",
		ArgsUsage: "KEY|FILE|-",
		Flags:     []cli.Flag{jsonFlag},
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 1, 1, "KEY|FILE|-"); err != nil {
				return err
			}
			arg := c.Args().First()
			var file string
			if arg == stdinName {
				b, err := io.ReadAll(io.LimitReader(c.App.Reader, 64<<10))
				if err != nil {
					return inputErr(err)
				}
				arg = strings.TrimSpace(string(b))
			} else if st, err := os.Stat(arg); err == nil && st.Mode().IsRegular() {
				file = arg
			}
			var (
				pub     atcrypto.PublicKey
				private bool
				typ     string
			)
			if priv, err := repo.LoadPrivateKey(arg); err == nil {
				pub, err = priv.PublicKey()
				if err != nil {
					return inputErr(err)
				}
				private, typ = true, repo.KeyType(priv)
			} else {
				pub, err = repo.LoadPublicKey(arg)
				if err != nil {
					return inputErr(err)
				}
				typ = repo.KeyType(pub)
			}
			out := struct {
				Type               string `json:"type"`
				Private            bool   `json:"private"`
				DIDKey             string `json:"didKey"`
				PublicKeyMultibase string `json:"publicKeyMultibase"`
				File               string `json:"file,omitempty"`
				Warning            string `json:"warning,omitempty"`
			}{Type: typ, Private: private, DIDKey: pub.DIDKey(), PublicKeyMultibase: pub.Multibase(), File: file}
			if private && file != "" {
				if st, err := os.Stat(file); err == nil && st.Mode().Perm()&0o077 != 0 {
					out.Warning = fmt.Sprintf("%s holds a private key and others may read it (mode %04o); chmod 600 it", file, st.Mode().Perm())
				}
			}
			w := c.App.Writer
			if c.Bool("json") {
				return printJSON(w, out)
			}
			kind := "public"
			if private {
				kind = "private"
			}
			fmt.Fprintf(w, "type:       %s\n", typ)
			fmt.Fprintf(w, "kind:       %s\n", kind)
			fmt.Fprintf(w, "did:key:    %s\n", out.DIDKey)
			fmt.Fprintf(w, "multibase:  %s (public)\n", out.PublicKeyMultibase)
			if out.Warning != "" {
				fmt.Fprintf(w, "%s %s\n", newPainter(w).yellow("warning:"), out.Warning)
			}
			return nil
		},
	}
}
