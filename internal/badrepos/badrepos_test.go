package badrepos_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/archive"

	"github.com/arbor-atproto/arbor/commands"
	"github.com/arbor-atproto/arbor/internal/badrepos"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// Each case of testdata/invalid-repos gets exactly the verdict its sidecar
// names from `arbor verify --key KEY --json`: the exit code, and for exit 1
// a problem of the named kind whose text holds the named substring (for
// exit 2, the one-line error holds it).
func TestVerifyGivesEachCaseItsExpectedVerdict(t *testing.T) {
	sidecars := testfixtures.Glob(t, "invalid-repos", "*.json")
	if len(sidecars) < 20 {
		t.Fatalf("only %d sidecars in testdata/invalid-repos", len(sidecars))
	}
	for _, sc := range sidecars {
		var s badrepos.Sidecar
		b, err := os.ReadFile(sc)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatalf("%s: %v", sc, err)
		}
		t.Run(strings.TrimSuffix(s.File, ".car"), func(t *testing.T) {
			file := filepath.Join(filepath.Dir(sc), s.File)
			var out, errb bytes.Buffer
			args := append([]string{"arbor", "verify", "--key", s.Key, "--json"}, s.Args...)
			code := commands.Run(append(args, file),
				commands.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
			if code != s.Expect.VerifyExit {
				t.Fatalf("%s (%s): exit %d, want %d\nstdout %s\nstderr %s", s.File, s.Fault, code, s.Expect.VerifyExit, out.String(), errb.String())
			}
			want := strings.ToLower(s.Expect.Problem)
			switch code {
			case 2:
				if !strings.Contains(strings.ToLower(errb.String()), want) {
					t.Fatalf("error %q does not mention %q", errb.String(), s.Expect.Problem)
				}
			case 0, 1:
				var rep archive.VerifyReport
				if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
					t.Fatalf("output is not JSON: %v\n%s", err, out.String())
				}
				if rep.Valid != (code == 0) {
					t.Fatalf("valid %v with exit %d", rep.Valid, code)
				}
				if code == 0 {
					if len(rep.Problems) != 0 {
						t.Fatalf("valid, yet problems: %+v", rep.Problems)
					}
					return
				}
				found := slices.ContainsFunc(rep.Problems, func(p archive.ProblemInfo) bool {
					return (s.Expect.Kind == "" || p.Kind == s.Expect.Kind) && strings.Contains(strings.ToLower(p.Error), want)
				})
				if !found {
					t.Fatalf("no %q problem mentioning %q among %+v", s.Expect.Kind, s.Expect.Problem, rep.Problems)
				}
			}
		})
	}
}

// The cases that say what inspect must count get those counts from
// `arbor inspect --json`.
func TestInspectCountsWhatTheSidecarSays(t *testing.T) {
	n := 0
	for _, c := range badrepos.Cases() {
		if c.Inspect == nil {
			continue
		}
		n++
		t.Run(strings.TrimSuffix(c.File, ".car"), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := commands.Run([]string{"arbor", "inspect", "--json", testfixtures.Path(t, "invalid-repos", c.File)},
				commands.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			var got struct {
				Commits      int      `json:"commits"`
				Unreferenced []string `json:"unreferencedBlocks"`
			}
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out.String())
			}
			if got.Commits != c.Inspect.Commits || len(got.Unreferenced) != c.Inspect.Unreferenced {
				t.Fatalf("%d commits, %d unreferenced blocks; want %d, %d", got.Commits, len(got.Unreferenced), c.Inspect.Commits, c.Inspect.Unreferenced)
			}
		})
	}
	if n == 0 {
		t.Fatal("no case says what inspect must count")
	}
}

// Regenerating the corpus gives the committed files byte for byte, and
// the folder holds nothing the generator does not write (but README.md).
func TestRegeneratingGivesIdenticalBytes(t *testing.T) {
	dir := testfixtures.Path(t, "invalid-repos")
	want := map[string]bool{"README.md": true}
	for _, c := range badrepos.Cases() {
		for name, b := range map[string][]byte{c.File: c.CAR, badrepos.SidecarName(c.File): badrepos.SidecarBytes(c.Sidecar)} {
			want[name] = true
			got, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Errorf("%v (run go run ./internal/badrepos/gen)", err)
				continue
			}
			if !bytes.Equal(got, b) {
				t.Errorf("%s differs from what the generator writes (run go run ./internal/badrepos/gen)", name)
			}
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !want[e.Name()] {
			t.Errorf("testdata/invalid-repos/%s is not written by the generator", e.Name())
		}
	}
}

// Two runs of the generator in one process agree (no clock, no random
// signature nonce).
func TestCasesAreDeterministic(t *testing.T) {
	a, b := badrepos.Cases(), badrepos.Cases()
	if len(a) != len(b) {
		t.Fatalf("%d cases, then %d", len(a), len(b))
	}
	for i := range a {
		if a[i].File != b[i].File || !bytes.Equal(a[i].CAR, b[i].CAR) {
			t.Errorf("%s differs between two runs", a[i].File)
		}
	}
}
