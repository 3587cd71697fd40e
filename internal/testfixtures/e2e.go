package testfixtures

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
)

// RequireE2EVar is the environment variable that turns a missing end-to-end
// dependency from a skip into a failure (CI sets it to 1).
const RequireE2EVar = "ARBOR_REQUIRE_E2E"

// e2eSkips counts, per reason, the tests of this test binary (one package)
// that NeedE2E skipped; MainE2E prints the tally.
var e2eSkips = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

// NeedE2E is for tests that need something outside Go (node and the
// reference packages, a headless browser): when ok is false the test skips
// with why, so `go test ./...` passes on a machine without them, and fails
// instead when ARBOR_REQUIRE_E2E=1 (CI installs everything and sets it).
// why names what is missing and how to install it.
func NeedE2E(tb testing.TB, ok bool, why string) {
	tb.Helper()
	if ok {
		return
	}
	if os.Getenv(RequireE2EVar) == "1" {
		tb.Fatalf("%s=1 but %s", RequireE2EVar, why)
	}
	e2eSkips.Lock()
	e2eSkips.n[why]++
	e2eSkips.Unlock()
	tb.Skipf("%s (set %s=1 to require)", why, RequireE2EVar)
}

// MainE2E runs the package's tests and then prints one summary line of the
// end-to-end tests that NeedE2E skipped, if any; use it as
//
//	func TestMain(m *testing.M) { os.Exit(testfixtures.MainE2E(m)) }
//
// (go test shows a passing package's output only with -v or -json).
func MainE2E(m *testing.M) int {
	code := m.Run()
	if line := e2eSummary(); line != "" {
		io.WriteString(os.Stdout, line+"\n")
	}
	return code
}

// e2eSummary is the summary line, "" when nothing was skipped.
func e2eSummary() string {
	e2eSkips.Lock()
	defer e2eSkips.Unlock()
	return formatE2ESummary(e2eSkips.n)
}

// formatE2ESummary gives, for skip counts per reason, a line such as
// "e2e: skipped 2 tests: node is not on PATH (set ARBOR_REQUIRE_E2E=1 to
// require)"; with several reasons each carries its count.
func formatE2ESummary(n map[string]int) string {
	total := 0
	var reasons []string
	for r, c := range n {
		total += c
		reasons = append(reasons, r)
	}
	if total == 0 {
		return ""
	}
	sort.Strings(reasons)
	if len(reasons) > 1 {
		for i, r := range reasons {
			reasons[i] = fmt.Sprintf("%d: %s", n[r], r)
		}
	}
	tests := "tests"
	if total == 1 {
		tests = "test"
	}
	return fmt.Sprintf("e2e: skipped %d %s: %s (set %s=1 to require)", total, tests, strings.Join(reasons, "; "), RequireE2EVar)
}
