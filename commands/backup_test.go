package commands

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/backup"
	"github.com/arbor-atproto/arbor/pdsclient"
)

// TestBackupCommand: arbor backup against the local PDS, text and --json,
// flags after the arguments, then backup verify; an altered blob file or
// a DIR that is not a backup are reported with their exit codes.
func TestBackupCommand(t *testing.T) {
	url, did := startLocalPDS(t)
	config := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", config) // nobody logged in
	dir := filepath.Join(t.TempDir(), "bk")
	var s backup.Summary
	r := runJSON(t, &s, "backup", "alice.test", dir, "--plc-host", url, "--json", "--timeout", "5s")
	if r.code != 0 || s.DID != did || s.Mode != backup.ModeFull || s.Records != 1 || s.Preferences != backup.PrefsNotLoggedIn {
		t.Fatalf("exit %d, %+v, stderr %q", r.code, s, r.stderr)
	}

	// Logged in (the session store arbor account login writes): the
	// preferences are kept too.
	sess, err := pdsclient.New(url, nil).Login(context.Background(), "alice.test", "hunter2hunter2")
	if err != nil {
		t.Fatal(err)
	}
	st, _ := pdsclient.DefaultSessionStore()
	if !strings.HasPrefix(st.Path, config) {
		t.Fatalf("the session store %s is not under XDG_CONFIG_HOME %s", st.Path, config)
	}
	if err := st.Save(sess, true); err != nil {
		t.Fatal(err)
	}
	r = runJSON(t, &s, "backup", "alice.test", dir, "--plc-host", url, "--json", "--timeout", "5s")
	if r.code != 0 || s.Preferences != backup.PrefsRefreshed {
		t.Fatalf("logged in: exit %d, %+v, stderr %q", r.code, s, r.stderr)
	}
	r = run(t, "", "backup", did, dir, "--plc-host", url, "--max-rps", "50", "--timeout", "5s")
	if r.code != 0 || !strings.Contains(r.stdout, ": unchanged, rev "+s.Rev) {
		t.Fatalf("second run: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	var v backup.VerifyReport
	if r := runJSON(t, &v, "backup", "verify", dir, "--json"); r.code != 0 || len(v.Problems) != 0 || v.Records != 1 {
		t.Fatalf("verify: exit %d, %+v, stderr %q", r.code, v, r.stderr)
	}
	if r := run(t, "", "backup", "verify", dir); r.code != 0 || !strings.HasPrefix(r.stdout, "✓ "+dir) {
		t.Fatalf("verify: exit %d, stdout %q", r.code, r.stdout)
	}

	// Break the kept repository: verify fails with exit 1 and says where.
	car := filepath.Join(dir, backup.RepoFile)
	b, _ := os.ReadFile(car)
	b[len(b)-3] ^= 0xff
	os.WriteFile(car, b, 0o600)
	wantOneLineError(t, run(t, "", "backup", "verify", dir), ExitFail, "repo.car")

	runUsageErrors(t, []usageCase{
		{name: "one argument", args: []string{"backup", "alice.test"}, want: "HANDLE|DID DIR"},
		{name: "--blobs and --no-blobs", args: []string{"backup", "alice.test", dir, "--blobs", "--no-blobs"}, want: "contradict"},
		{name: "negative --max-rps", args: []string{"backup", "alice.test", dir, "--max-rps", "-1"}, want: "--max-rps"},
		{name: "--parallel 0", args: []string{"backup", "alice.test", dir, "--parallel", "0"}, want: "--parallel"},
		{name: "verify of a folder that is no backup", args: []string{"backup", "verify", t.TempDir()}, want: "not a backup"},
		{name: "backup into a folder that is no backup", args: []string{"backup", "alice.test", filepath.Dir(dir), "--plc-host", url}, want: "not a backup"},
	})
}
