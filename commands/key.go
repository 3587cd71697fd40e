package commands

import (
	"fmt"
	"io"
	"os"
	"strings"

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
		Action: keyGenerate,
	}
}

func keyGenerate(c *cli.Context) error {
	if err := needArgs(c, 0, 0, "[--type k256|p256] [-o FILE] [--json]"); err != nil {
		return err
	}
	typ := strings.ToLower(c.String("type"))
	if typ != "k256" && typ != "p256" {
		return usageErr("--type: %q is not a key type (want k256 or p256)", c.String("type"))
	}
	res, err := build.NewKey(typ, c.String("output"))
	if err != nil {
		return inputErr(err) // every failure here exits 2, as before
	}
	return printResult(c, res, printNewKey)
}

func printNewKey(w io.Writer, res *build.NewKeyResult) error {
	if res.File != "" {
		fmt.Fprintf(w, "wrote %s private key to %s (mode 0600)\n", res.Type, res.File)
	} else {
		fmt.Fprintf(w, "private key: %s  (%s, multibase; keep it secret)\n", res.PrivateKey, res.Type)
	}
	fmt.Fprintf(w, "public key:  %s\n", res.DIDKey)
	return nil
}

func keyInspectCommand() *cli.Command {
	return &cli.Command{
		Name:  "inspect",
		Usage: "show a key's type and public did:key, and whether it is private (never prints a private key)",
		Description: "KEY is a key file, a key string (private multibase, 64 hex digits for a raw k256 key,\n" +
			"did:key or public multibase), or - to read it from standard input.",
		ArgsUsage: "KEY|FILE|-",
		Flags:     []cli.Flag{jsonFlag},
		Action:    keyInspect,
	}
}

func keyInspect(c *cli.Context) error {
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
	info, err := repo.InspectKey(arg, file)
	if err != nil {
		return inputErr(err)
	}
	return printResult(c, info, printKeyInfo)
}

func printKeyInfo(w io.Writer, info *repo.KeyInfo) error {
	kind := "public"
	if info.Private {
		kind = "private"
	}
	fmt.Fprintf(w, "type:       %s\n", info.Type)
	fmt.Fprintf(w, "kind:       %s\n", kind)
	fmt.Fprintf(w, "did:key:    %s\n", info.DIDKey)
	fmt.Fprintf(w, "multibase:  %s (public)\n", info.PublicKeyMultibase)
	if info.Warning != "" {
		fmt.Fprintf(w, "%s %s\n", newPainter(w).yellow("warning:"), info.Warning)
	}
	return nil
}
