package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutputsAreNeverReplacedWithoutForce pins the one overwrite policy:
// every command that writes a file refuses an existing one (exit 2, one
// line naming it and --force, the file untouched), and replaces it with
// --force.
func TestOutputsAreNeverReplacedWithoutForce(t *testing.T) {
	dir, keyFile, _ := createFixture(t)
	records := filepath.Join(dir, "records.jsonl")
	if err := os.WriteFile(records, []byte(goodLine+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	one := filepath.Join("..", "golden", "repos", "one.car")
	cases := []struct {
		name string
		args func(out string) []string
	}{
		{"create", func(out string) []string {
			return []string{"create", "--did", "did:plc:abcdefghijklmnopqrstuvwx", "--key", keyFile, "--rev", "3ktt5626c222b", out, records}
		}},
		{"rewrite", func(out string) []string { return []string{"rewrite", one, "-o", out} }},
		{"apply", func(out string) []string {
			return []string{"apply", goldenDiff("update-one", "old.car"), goldenDiff("update-one", "slice.car"), "-o", out}
		}},
		{"diff --car", func(out string) []string {
			return []string{"diff", goldenDiff("update-one", "old.car"), goldenDiff("update-one", "new.car"), "--car", out}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.car")
			const before = "not a CAR: must survive"
			if err := os.WriteFile(out, []byte(before), 0o644); err != nil {
				t.Fatal(err)
			}
			r := run(t, "", c.args(out)...)
			wantOneLineError(t, r, ExitUsage, "refusing to overwrite "+out+" (use --force)")
			if b, _ := os.ReadFile(out); string(b) != before {
				t.Fatalf("%s was changed without --force", out)
			}
			r = run(t, "", append(c.args(out), "--force")...)
			if r.code == ExitUsage {
				t.Fatalf("with --force: exit %d: %s", r.code, r.stderr)
			}
			if b, _ := os.ReadFile(out); string(b) == before {
				t.Fatalf("with --force %s was not replaced (exit %d, %s)", out, r.code, r.stderr)
			}
		})
	}
}

// TestExportRefusesAFolderThatIsNotEmpty: export into a folder holding
// another repo's files would merge two repos; it is refused unless --force,
// while a missing or empty folder is fine.
func TestExportRefusesAFolderThatIsNotEmpty(t *testing.T) {
	one := filepath.Join("..", "golden", "repos", "one.car")
	empty := t.TempDir()
	if r := run(t, "", "export", one, empty); r.code != ExitOK {
		t.Fatalf("export into an empty folder: exit %d: %s", r.code, r.stderr)
	}
	if r := run(t, "", "export", one, filepath.Join(t.TempDir(), "new", "dir")); r.code != ExitOK {
		t.Fatalf("export into a missing folder: exit %d: %s", r.code, r.stderr)
	}
	full := t.TempDir()
	stray := filepath.Join(full, "app.bsky.feed.post")
	if err := os.Mkdir(stray, 0o755); err != nil {
		t.Fatal(err)
	}
	wantOneLineError(t, run(t, "", "export", one, full), ExitUsage, "use --force")
	if _, err := os.Stat(filepath.Join(full, "_commit.json")); err == nil {
		t.Fatal("export wrote into a non-empty folder without --force")
	}
	if r := run(t, "", "export", one, full, "--force"); r.code != ExitOK {
		t.Fatalf("export --force: exit %d: %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(full, "_commit.json")); err != nil {
		t.Fatalf("export --force wrote no _commit.json: %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	wantOneLineError(t, run(t, "", "export", one, file, "--force"), ExitUsage, "not a folder")
}

// TestCreateDoesNotFollowSymlinksInDir: a record file, a collection folder
// or _long_keys.jsonl that is a link (here to a file outside DIR holding a
// valid record) is refused with its path; nothing is written.
func TestCreateDoesNotFollowSymlinksInDir(t *testing.T) {
	_, keyFile, _ := createFixture(t)
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.json")
	if err := os.WriteFile(secret, []byte(`{"$type":"app.bsky.feed.post","text":"secret","createdAt":"2024-01-01T00:00:00Z"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	secretDir := filepath.Join(outside, "coll")
	os.Mkdir(secretDir, 0o755)
	os.WriteFile(filepath.Join(secretDir, "3jzfcijpj2z2a.json"), []byte(`{"$type":"app.bsky.feed.post","text":"x","createdAt":"2024-01-01T00:00:00Z"}`), 0o644)
	cases := []struct {
		name, link, target string
	}{
		{"record file", "app.bsky.feed.post/3jzfcijpj2z2a.json", secret},
		{"collection folder", "app.bsky.feed.like", secretDir},
		{"long keys file", "_long_keys.jsonl", secret},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := t.TempDir()
			os.Mkdir(filepath.Join(in, "app.bsky.feed.post"), 0o755)
			if err := os.Symlink(c.target, filepath.Join(in, c.link)); err != nil {
				t.Fatal(err)
			}
			work := t.TempDir()
			out := filepath.Join(work, "out.car")
			r := run(t, "", "create", "--did", "did:plc:abcdefghijklmnopqrstuvwx", "--key", keyFile, out, in)
			wantOneLineError(t, r, ExitUsage, "symbolic link")
			if !strings.Contains(r.stderr, filepath.Join(in, c.link)) {
				t.Fatalf("error does not name the link: %s", r.stderr)
			}
			onlyFiles(t, work)
		})
	}
}
