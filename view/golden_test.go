package view

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/arbor-atproto/arbor/archive"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// goldenDir holds repositories made by the reference implementation, with
// facts about each read back from the reference's own objects.
var goldenDir = filepath.Join("..", "golden", "repos")

// canonicalGolden are the valid golden repositories (noncanonical-flat is
// invalid on purpose and has no depth facts).
var canonicalGolden = []string{"empty", "one", "ten", "p256-50", "r300", "r2000"}

func loadGolden(t testing.TB, name string) (testfixtures.GoldenRepo, *archive.Bodies) {
	t.Helper()
	return testfixtures.ReadGoldenRepo(t, name), readCAR(t, filepath.Join(goldenDir, name+".car"))
}

func readCAR(t testing.TB, path string) *archive.Bodies {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := archive.ReadWithBodies(f, archive.Options{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return a
}
