package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/lexicon"
)

// TestLexiconLsListsEmbeddedAndOverlays: ls lists the embedded catalog;
// a --lexicon-dir schema is added, or marked as overriding one.
func TestLexiconLsListsEmbeddedAndOverlays(t *testing.T) {
	var l lexicon.CatalogList
	if r := runJSON(t, &l, "lexicon", "ls", "--json"); r.code != 0 || l.Embedded < 390 || l.Added != 0 {
		t.Fatalf("exit %d, %d embedded, %d added", r.code, l.Embedded, l.Added)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "post.json"), []byte(`{"lexicon":1,"id":"app.bsky.feed.post","defs":{"main":{"type":"record","key":"tid","record":{"type":"object","properties":{}}}}}`), 0o644)
	os.WriteFile(filepath.Join(dir, "new.json"), []byte(`{"lexicon":1,"id":"com.example.new","defs":{"main":{"type":"token"}}}`), 0o644)
	runJSON(t, &l, "lexicon", "ls", "--json", "--lexicon-dir", dir)
	found := map[string]lexicon.SchemaInfo{}
	for _, s := range l.Schemas {
		found[s.NSID] = s
	}
	if p := found["app.bsky.feed.post"]; !p.Overrides || p.Type != "record" || !strings.HasSuffix(p.Source, "post.json") {
		t.Errorf("overridden post %+v", p)
	}
	if n := found["com.example.new"]; n.Type != "token" || l.Added != 2 {
		t.Errorf("added %+v, %d added", n, l.Added)
	}
	if r := run(t, "", "lexicon", "ls"); r.code != 0 || !strings.Contains(r.stdout, "app.bsky.feed.post") {
		t.Errorf("text: exit %d", r.code)
	}
}

// TestLexiconValidateInputs: a record on standard input; an unreadable
// file or a bad --lexicon-dir is exit 2; no argument is bad usage.
func TestLexiconValidateInputs(t *testing.T) {
	r := run(t, `{"$type":"app.bsky.feed.post","text":12345}`, "lexicon", "validate", "-")
	if r.code != 1 || !strings.Contains(r.stdout, "$.text: expected a string") || !strings.Contains(r.stdout, "$.createdAt: required field missing") {
		t.Errorf("stdin: exit %d\n%s", r.code, r.stdout)
	}
	if r := run(t, `{"$type":"app.bsky.feed.post","text":"hi","createdAt":"2024-01-01T00:00:00Z"}`, "lexicon", "validate", "-"); r.code != 0 {
		t.Errorf("valid stdin: exit %d %s", r.code, r.stdout)
	}
	if r := run(t, `{"$type":"com.example.nope"}`, "lexicon", "validate", "-"); r.code != 1 || !strings.Contains(r.stdout, "no schema") {
		t.Errorf("unknown type: exit %d %s", r.code, r.stdout)
	}
	wantOneLineError(t, run(t, "", "lexicon", "validate", filepath.Join(t.TempDir(), "nope.json")), 2, "nope.json")
	wantOneLineError(t, run(t, "{}", "lexicon", "validate", "--lexicon-dir", filepath.Join(t.TempDir(), "nodir"), "-"), 2, "--lexicon-dir")
	wantOneLineError(t, run(t, "", "lexicon", "validate"), 2, "usage")
	wantOneLineError(t, run(t, "", "lexicon", "lint", filepath.Join(t.TempDir(), "nope")), 2, "nope")
}
