package commands

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// shared is the reference material in testdata/ at the repository root
// (copies of ../shared).
var shared = testfixtures.MustDir()

func corpus(parts ...string) string {
	return filepath.Join(append([]string{shared, "corpus"}, parts...)...)
}

// result is what one run of arbor produced.
type result struct {
	code           int
	stdout, stderr string
}

// run runs arbor with args (without the program name) and stdin.
func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(append([]string{"arbor"}, args...), Env{
		Stdin:  strings.NewReader(stdin),
		Stdout: &out,
		Stderr: &errb,
	})
	return result{code, out.String(), errb.String()}
}

// runJSON runs arbor and decodes its standard output as JSON into v.
func runJSON(t *testing.T, v any, args ...string) result {
	t.Helper()
	return decodeOutput(t, run(t, "", args...), v, args)
}

// decodeOutput decodes the standard output of the run of arbor args as
// JSON into v, and checks it against the command's --json shape.
func decodeOutput(t *testing.T, r result, v any, args []string) result {
	t.Helper()
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("arbor %v: output is not JSON (%v); exit %d, stderr %q, stdout %q", args, err, r.code, r.stderr, r.stdout)
	}
	checkShape(t, args, r.stdout)
	return r
}

// wantOneLineError checks the shape of a failure: the wanted exit code, and
// a single line on stderr that mentions want.
func wantOneLineError(t *testing.T, r result, code int, want string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d (stderr %q)", r.code, code, r.stderr)
	}
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "arbor: ") {
		t.Fatalf("stderr is not one arbor: line: %q", r.stderr)
	}
	if !strings.Contains(r.stderr, want) {
		t.Fatalf("stderr %q does not mention %q", r.stderr, want)
	}
}

// needE2E is for tests that need something outside Go (Node packages, a
// browser). Without it they skip, so `go test ./...` works on a fresh
// machine; CI installs everything and sets ARBOR_REQUIRE_E2E=1, and then a
// missing dependency fails the test instead.
// (The gate is testfixtures.NeedE2E, shared by every package; TestMain
// prints one summary line of what it skipped.)
func needE2E(t *testing.T, ok bool, what string) {
	t.Helper()
	testfixtures.NeedE2E(t, ok, what)
}

// usageCase is a command line that must fail as bad usage or unreadable
// input: one line on stderr that contains want, exit 2, nothing on stdout.
type usageCase struct {
	name string
	args []string
	want string
}

// runUsageErrors runs each case as a subtest named after it.
func runUsageErrors(t *testing.T, cases []usageCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, "", c.args...)
			wantOneLineError(t, r, ExitUsage, c.want)
			if r.stdout != "" {
				t.Errorf("stdout %q", r.stdout)
			}
		})
	}
}

// garbageCAR writes a file named garbage.car that is not a CAR file and
// returns its path.
func garbageCAR(t *testing.T) string {
	t.Helper()
	garbage := filepath.Join(t.TempDir(), "garbage.car")
	if err := os.WriteFile(garbage, []byte("not a car file"), 0o644); err != nil {
		t.Fatal(err)
	}
	return garbage
}

// checkGeneratedDoc compares docs/NAME with want, the text generated from
// source (what, for the message), after writing want there under
// -update-docs; test names the test that regenerates it.
func checkGeneratedDoc(t *testing.T, name, want, what, test string) {
	t.Helper()
	path := filepath.Join("..", "docs", name)
	if *updateDocs {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("docs/%s is out of date with %s; run: go test ./commands -run %s -update-docs", name, what, test)
	}
}
