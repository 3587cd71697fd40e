package lexicon

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// TestEmbeddedSchemasEqualShared proves schemas/ is ../shared/lexicons byte
// for byte, both ways (nothing missing, nothing extra), when ../shared is
// beside the repository; lexicon/sync.sh refreshes the copy.
func TestEmbeddedSchemasEqualShared(t *testing.T) {
	sharedDir, ok := testfixtures.SharedDir(t)
	src := filepath.Join(sharedDir, "lexicons")
	if _, err := os.Stat(src); !ok || err != nil {
		t.Skipf("%s is not beside the repository: the embedded copy is not compared (it is what arbor uses)", src)
	}
	want := map[string][]byte{}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		want[filepath.ToSlash(rel)], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	err = fs.WalkDir(official, "schemas", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		got++
		rel := p[len("schemas/"):]
		b, _ := official.ReadFile(p)
		w, ok := want[rel]
		switch {
		case !ok:
			t.Errorf("schemas/%s is not in %s (run lexicon/sync.sh)", rel, src)
		case !bytes.Equal(b, w):
			t.Errorf("schemas/%s differs from %s/%s (run lexicon/sync.sh)", rel, src, rel)
		}
		delete(want, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for rel := range want {
		t.Errorf("%s/%s is missing from schemas/ (run lexicon/sync.sh)", src, rel)
	}
	if got < 390 {
		t.Errorf("only %d embedded files", got)
	}
}

// TestEmbeddedCatalogLoads: every embedded schema parses, passes the
// schema checks, and every ref and union member resolves.
func TestEmbeddedCatalogLoads(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.Documents()); n < 390 {
		t.Fatalf("%d documents", n)
	}
	for name, n := range c.defs {
		walkNodes(n, map[*node]bool{}, func(m *node) {
			if m.kind == kRef && m.ref == nil {
				t.Errorf("%s: ref %s does not resolve", name, m.target)
			}
			for i, r := range m.refs {
				if m.members[i] == nil {
					t.Errorf("%s: union member %s does not resolve", name, r)
				}
			}
		})
	}
	for _, id := range []string{"app.bsky.feed.post", "com.atproto.repo.strongRef", "chat.bsky.actor.declaration", "tools.ozone.moderation.defs"} {
		if c.Document(nsid(t, id)) == nil {
			t.Errorf("%s is not in the catalog", id)
		}
	}
}

func walkNodes(n *node, seen map[*node]bool, fn func(*node)) {
	if n == nil || seen[n] {
		return
	}
	seen[n] = true
	fn(n)
	walkNodes(n.items, seen, fn)
	for _, p := range n.props {
		walkNodes(p.n, seen, fn)
	}
}
