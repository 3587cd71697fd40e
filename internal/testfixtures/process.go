package testfixtures

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// BuildArbor builds the arbor binary into a temporary folder of the test
// and returns its path, for tests that run it as a process of its own (to
// kill it part way).
func BuildArbor(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "arbor")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = Root(tb)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v: %s", err, out)
	}
	return bin
}

// Clock is a settable clock to pass as a Now function (a PDS's
// Config.Now): the time now, moved on by every Advance. The zero value is
// ready; it is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	off time.Duration
}

// Now returns the current time moved on by every Advance so far.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// SyncBuffer is a bytes.Buffer safe for concurrent use: a log (a PDS's
// mail log) that a server's goroutines write while the test reads it. The
// zero value is ready.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
