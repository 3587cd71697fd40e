package testfixtures

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// ours are the files of testdata/interop and testdata/corpus that are not
// copies; renamed maps a copy's path to its path under ../shared.
var (
	ours    = map[string]bool{"interop/README.md": true, "corpus/README.md": true}
	renamed = map[string]string{"interop/PROVENANCE.md": "interop/README.md"}
)

// listFiles returns the regular files under dir/set, as slash paths
// relative to dir.
func listFiles(t *testing.T, dir, set string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(dir, set), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The interop vectors and the corpus in testdata/ are the files of
// ../shared byte for byte: every shared file has its copy, every copy (but
// our two READMEs) has its shared file. Without ../shared there is nothing
// to compare against and the test says so.
func TestCopiesEqualShared(t *testing.T) {
	shared, ok := SharedDir(t)
	if !ok {
		t.Skipf("%s is not beside the repository: copies in testdata/ not compared (they are what the tests use)", shared)
	}
	copyOf := map[string]string{} // shared path -> testdata path
	for _, set := range []string{"interop", "corpus"} {
		for _, rel := range listFiles(t, Dir(t), set) {
			if ours[rel] {
				continue
			}
			src := rel
			if r, ok := renamed[rel]; ok {
				src = r
			}
			copyOf[src] = rel
		}
		for _, src := range listFiles(t, shared, set) {
			rel, ok := copyOf[src]
			if !ok {
				t.Errorf("%s has no copy in testdata/ (run testdata/sync.sh)", src)
				continue
			}
			delete(copyOf, src)
			want, err := os.ReadFile(filepath.Join(shared, filepath.FromSlash(src)))
			if err != nil {
				t.Fatal(err)
			}
			got := Read(t, filepath.FromSlash(rel))
			if !bytes.Equal(got, want) {
				t.Errorf("testdata/%s differs from %s/%s (run testdata/sync.sh)", rel, shared, src)
			}
		}
	}
	for src, rel := range copyOf {
		t.Errorf("testdata/%s has no counterpart %s in %s (run testdata/sync.sh)", rel, src, shared)
	}
}

// The sets tests rely on are in testdata/, each with its license and
// provenance.
func TestFixtureSetsCarryLicenseAndProvenance(t *testing.T) {
	for _, f := range [][]string{
		{"interop", "README.md"},
		{"interop", "PROVENANCE.md"},
		{"interop", "LICENSE-CC0"},
		{"interop", "mst-test-suite", "LICENSE-MIT"},
		{"interop", "dag-cbor", "LICENSE-MIT"},
		{"interop", "plc", "LICENSE"},
		{"corpus", "README.md"},
		{"corpus", "PROVENANCE.md"},
		{"corpus", "LICENSE-indigo-MIT"},
		{"corpus", "arroba", "LICENSE-CC0"},
		{"corpus", "rsky", "LICENSE-APACHE"},
		{"corpus", "dnproto", "LICENSE-MIT"},
		{"corpus", "go-didplc", "LICENSE-MIT"},
		{"corpus", "atproto", "LICENSE-MIT"},
	} {
		if len(Read(t, f...)) == 0 {
			t.Errorf("testdata/%s is empty", filepath.Join(f...))
		}
	}
}

// Root is the folder with go.mod, found from a package's directory.
func TestRootIsTheModuleRoot(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(Root(t), "go.mod"))
	if err != nil || !bytes.Contains(b, []byte("module github.com/arbor-atproto/arbor")) {
		t.Fatalf("Root %s is not arbor's module root (%v)", Root(t), err)
	}
	if got := Glob(t, "interop", "mst-test-suite", "cars", "exhaustive", "*.car"); len(got) != 128 {
		t.Fatalf("%d exhaustive CARs under testdata, want 128", len(got))
	}
}

// fakeTB records what NeedE2E asks of a test; Fatalf and Skipf stop it as
// the real ones do (here by panicking with the message).
type fakeTB struct {
	testing.TB
	failed, skipped string
}

type stopped struct{}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	panic(stopped{})
}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped = fmt.Sprintf(format, args...)
	panic(stopped{})
}

func runNeedE2E(ok bool, why string) (f *fakeTB) {
	f = &fakeTB{}
	defer func() {
		if r := recover(); r != nil && r != (stopped{}) {
			panic(r)
		}
	}()
	NeedE2E(f, ok, why)
	return f
}

// A missing end-to-end dependency skips and is counted for the summary;
// with ARBOR_REQUIRE_E2E=1 it fails; a present one does neither.
func TestNeedE2ESkipsOrFailsOnRequire(t *testing.T) {
	for _, tc := range []struct {
		name        string
		require     string
		ok          bool
		fail, skip  bool
		countChange int
	}{
		{"present", "", true, false, false, 0},
		{"present, required", "1", true, false, false, 0},
		{"missing", "", false, false, true, 1},
		{"missing, required", "1", false, true, false, 0},
		{"missing, other value", "yes", false, false, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(RequireE2EVar, tc.require)
			why := "thing not found (" + tc.name + ")"
			before := e2eSkipped(why)
			f := runNeedE2E(tc.ok, why)
			if (f.failed != "") != tc.fail || (f.skipped != "") != tc.skip {
				t.Fatalf("failed %q, skipped %q; want fail %v, skip %v", f.failed, f.skipped, tc.fail, tc.skip)
			}
			if got := e2eSkipped(why) - before; got != tc.countChange {
				t.Fatalf("skip count changed by %d, want %d", got, tc.countChange)
			}
		})
	}
	e2eSkips.Lock()
	clear(e2eSkips.n) // the summary of this package is about real skips only
	e2eSkips.Unlock()
}

func e2eSkipped(why string) int {
	e2eSkips.Lock()
	defer e2eSkips.Unlock()
	return e2eSkips.n[why]
}

// The summary is one line: the number of skipped tests and why.
func TestE2ESummaryIsOneLine(t *testing.T) {
	for _, tc := range []struct {
		n    map[string]int
		want string
	}{
		{map[string]int{}, ""},
		{map[string]int{"node not found": 1}, "e2e: skipped 1 test: node not found (set ARBOR_REQUIRE_E2E=1 to require)"},
		{map[string]int{"node not found": 3}, "e2e: skipped 3 tests: node not found (set ARBOR_REQUIRE_E2E=1 to require)"},
		{map[string]int{"node not found": 2, "chromium not found": 1}, "e2e: skipped 3 tests: 1: chromium not found; 2: node not found (set ARBOR_REQUIRE_E2E=1 to require)"},
	} {
		if got := formatE2ESummary(tc.n); got != tc.want {
			t.Errorf("%v: got %q, want %q", tc.n, got, tc.want)
		}
	}
}
