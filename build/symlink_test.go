package build

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestReadDirRefusesSymlinks: a link inside the records folder (to a record
// file outside it, or to a folder) is an ErrBadLayout InputError naming the
// link, never read through; a records folder that is itself a link is read.
func TestReadDirRefusesSymlinks(t *testing.T) {
	dir, _ := exportDir(t, golden("repos", "ten.car"))
	outside := filepath.Join(t.TempDir(), "x.json")
	if err := os.WriteFile(outside, []byte(`{"$type":"app.bsky.feed.post","text":"outside","createdAt":"2024-01-01T00:00:00Z"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var coll string
	for _, e := range ents {
		if e.IsDir() {
			coll = e.Name()
			break
		}
	}
	for _, link := range []string{filepath.Join(coll, "3zzzzzzzzzzzz.json"), "app.bsky.graph.block", "_long_keys.jsonl"} {
		t.Run(link, func(t *testing.T) {
			p := filepath.Join(dir, link)
			if err := os.Symlink(outside, p); err != nil {
				t.Fatal(err)
			}
			defer os.Remove(p)
			_, err := LoadDir(dir)
			var ie *InputError
			if !errors.Is(err, ErrBadLayout) || !errors.As(err, &ie) || ie.File != p {
				t.Fatalf("got %v, want ErrBadLayout at %s", err, p)
			}
		})
	}
	alias := filepath.Join(t.TempDir(), "alias")
	if err := os.Symlink(dir, alias); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(alias); err != nil {
		t.Fatalf("a records folder given as a link: %v", err)
	}
}
