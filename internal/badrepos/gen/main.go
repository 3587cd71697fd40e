// Command gen writes arbor's corpus of invalid repositories (package
// badrepos) into testdata/invalid-repos, or the folder given with -o.
// Run from the repository root: go run ./internal/badrepos/gen
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/arbor-atproto/arbor/internal/badrepos"
)

func main() {
	dir := flag.String("o", "testdata/invalid-repos", "output folder")
	flag.Parse()
	n, err := badrepos.Write(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	fmt.Printf("%d cases written to %s\n", n, *dir)
}
