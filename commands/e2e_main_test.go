package commands

import (
	"os"
	"testing"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// TestMain prints one line summing up the end-to-end tests that skipped
// for want of Node or a browser (testfixtures.NeedE2E).
func TestMain(m *testing.M) { os.Exit(testfixtures.MainE2E(m)) }
