// Command arbor is a toolkit for AT Protocol repositories, CAR files and
// did:plc identities. See docs/commands.md or run `arbor help`.
package main

import (
	"os"

	"github.com/arbor-atproto/arbor/commands"
)

func main() {
	os.Exit(commands.Run(os.Args, commands.Env{
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
	}))
}
