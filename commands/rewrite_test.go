package commands

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func goldenCAR(name string) string { return filepath.Join("..", "golden", "repos", name) }

// TestRewriteWithNoOptionIsAByteForByteCopy and says so.
func TestRewriteWithNoOptionIsAByteForByteCopy(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.car")
	var res struct {
		Unchanged bool
		Layout    string
	}
	if r := runJSON(t, &res, "rewrite", goldenCAR("r2000.car"), "-o", out, "--json"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	in, _ := os.ReadFile(goldenCAR("r2000.car"))
	got, _ := os.ReadFile(out)
	if !bytes.Equal(in, got) || !res.Unchanged {
		t.Fatalf("not a byte-for-byte copy (unchanged=%v)", res.Unchanged)
	}
}

// TestRewriteResignsDropsAndMoves: the output verifies with the new key, has
// the new DID, and lost the dropped collection; the summary says so.
func TestRewriteResignsDropsAndMoves(t *testing.T) {
	dir, keyFile, didKey := createFixture(t)
	out := filepath.Join(dir, "out.car")
	var res struct {
		NewDID, SigningKey string
		RecordsIn          int
		RecordsOut         int
		Dropped            []struct {
			Collection string
			Records    int
		}
	}
	r := runJSON(t, &res, "rewrite", goldenCAR("ten.car"), "--key", keyFile, "--did", "did:web:example.com",
		"--drop-collection", "app.bsky.feed.like", "--drop", "app.bsky.actor.profile/self", "-o", out, "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// ten.json (reference): 10 records, 3 likes, 1 profile.
	if res.NewDID != "did:web:example.com" || res.SigningKey != didKey || res.RecordsIn != 10 || res.RecordsOut != 6 || len(res.Dropped) != 2 {
		t.Fatalf("summary %+v", res)
	}
	var v struct {
		Valid   bool
		Records int
		Commit  struct{ DID string }
	}
	if r := runJSON(t, &v, "verify", out, "--key", didKey, "--json"); r.code != 0 || !v.Valid || v.Records != 6 || v.Commit.DID != "did:web:example.com" {
		t.Fatalf("verify: exit %d %+v", r.code, v)
	}
	r = run(t, "", "ls", out, "--json")
	ls := parseLines(t, r.stdout)
	if r.code != 0 || len(ls) != 6 {
		t.Fatalf("ls: exit %d, %d records", r.code, len(ls))
	}
	for _, e := range ls {
		if e.Path == "app.bsky.actor.profile/self" || filepath.Dir(e.Path) == "app.bsky.feed.like" {
			t.Fatalf("%s survived", e.Path)
		}
	}
}

// TestRewriteRefusals: exit code, one line, and no output file.
func TestRewriteRefusals(t *testing.T) {
	_, keyFile, _ := createFixture(t)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"invalid input", []string{goldenCAR("noncanonical-flat.car")}, ExitFail, "input repository is invalid"},
		{"drop without key", []string{goldenCAR("ten.car"), "--drop-collection", "app.bsky.feed.like"}, ExitUsage, "signing key is needed"},
		{"bad DID", []string{goldenCAR("ten.car"), "--did", "nobody", "--key", keyFile}, ExitUsage, "--did:"},
		{"unknown record", []string{goldenCAR("ten.car"), "--drop", "app.bsky.feed.like/nope", "--key", keyFile}, ExitUsage, "no such record"},
		{"missing input", []string{"does-not-exist.car"}, ExitUsage, "does-not-exist.car"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			r := run(t, "", append(append([]string{"rewrite"}, tc.args...), "-o", filepath.Join(work, "out.car"))...)
			wantOneLineError(t, r, tc.code, tc.want)
			onlyFiles(t, work)
		})
	}
	wantOneLineError(t, run(t, "", "rewrite", goldenCAR("ten.car")), ExitUsage, "-o OUT.car is required")
}

func TestRewriteNeverModifiesInPlace(t *testing.T) {
	dir, keyFile, _ := createFixture(t)
	in := filepath.Join(dir, "in.car")
	orig, _ := os.ReadFile(goldenCAR("ten.car"))
	os.WriteFile(in, orig, 0o644)
	r := run(t, "", "rewrite", in, "-o", in, "--key", keyFile)
	wantOneLineError(t, r, ExitUsage, "in place")
	if got, _ := os.ReadFile(in); !bytes.Equal(got, orig) {
		t.Fatal("input modified")
	}
}
