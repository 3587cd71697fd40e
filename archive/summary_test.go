package archive

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// inspectOutcome is what inspect prints of a reading: the report as JSON,
// or the error that ended it.
func inspectOutcome(stats func() (*Stats, error), report func(*Stats) *InspectReport, readErr error) string {
	if readErr != nil {
		return "read: " + readErr.Error()
	}
	st, err := stats()
	if err != nil {
		return "inspect: " + err.Error()
	}
	b, err := json.Marshal(report(st))
	if err != nil {
		return "json: " + err.Error()
	}
	return string(b)
}

// ReadSummary skips checking records as records, which Inspect does not
// report: for every repository in golden/ and the corpus, and for damaged
// copies of each (a byte changed in each of several places, the file cut
// short), inspecting a summary gives exactly what inspecting a full
// reading gives.
func TestSummaryInspectsAsReadDoes(t *testing.T) {
	root, files := inspectFixtures(t)
	for _, path := range files {
		name, _ := filepath.Rel(root, path)
		for v, d := range damagedVariants(t, path) {
			full, ferr := Read(bytes.NewReader(d), Options{})
			want := inspectOutcome(func() (*Stats, error) { return full.Inspect() },
				func(s *Stats) *InspectReport { return NewInspectReport(name, full, s) }, ferr)
			sum, serr := ReadSummary(bytes.NewReader(d), Options{})
			got := inspectOutcome(func() (*Stats, error) { return sum.Inspect() },
				func(s *Stats) *InspectReport { return sum.Report(name, s) }, serr)
			if got != want {
				t.Errorf("%s, %s:\nsummary %s\nread    %s", name, v, got, want)
			}
		}
	}
}

// Inspect's walk split over two walkers (walkSplit, forced here whatever
// the size) reports exactly what one walker does, on every repository in
// golden/, the corpus and the invalid ones (trees that reuse a subtree
// among them, which make it walk again on one), damaged copies included.
func TestSplitWalkInspectsAsOneWalkerDoes(t *testing.T) {
	root, files := inspectFixtures(t)
	split := 0
	for _, path := range files {
		name, _ := filepath.Rel(root, path)
		for v, d := range damagedVariants(t, path) {
			one, err := Read(bytes.NewReader(d), Options{})
			if err != nil {
				continue
			}
			want := inspectOutcome(one.Inspect, func(s *Stats) *InspectReport { return NewInspectReport(name, one, s) }, nil)
			two, _ := Read(bytes.NewReader(d), Options{})
			two.alwaysSplitWalk = true
			got := inspectOutcome(two.Inspect, func(s *Stats) *InspectReport { return NewInspectReport(name, two, s) }, nil)
			if got != want {
				t.Errorf("%s, %s:\ntwo walkers %s\none walker  %s", name, v, got, want)
			}
			if w := two.newWalker(); two.CommitErr == nil && w.mark(two.Root) {
				if done, _ := w.walkSplit(two.Data.Bytes()); done {
					split++
				}
			}
		}
	}
	if split < 20 {
		t.Fatalf("the walk was split on only %d readings", split)
	}
}

// inspectFixtures lists every CAR in golden/, the corpus and the invalid
// repositories.
func inspectFixtures(t *testing.T) (root string, files []string) {
	root = testfixtures.Root(t)
	for _, dir := range []string{"golden", "testdata/corpus", "testdata/invalid-repos"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".car") {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(files) < 20 {
		t.Fatalf("only %d CAR files found", len(files))
	}
	return root, files
}

// damagedVariants is the file at path as is, cut short, and with a byte
// changed in each of three places.
func damagedVariants(t *testing.T, path string) map[string][]byte {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	variants := map[string][]byte{"as is": data, "cut short": data[:len(data)*2/3]}
	for _, at := range []int{len(data) / 5, len(data) / 2, len(data) - 7} {
		d := bytes.Clone(data)
		d[at] ^= 0x5a
		variants[fmt.Sprintf("byte %d changed", at)] = d
	}
	return variants
}
