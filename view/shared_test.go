package view

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/arbor-atproto/arbor/archive"
	"github.com/arbor-atproto/arbor/internal/testfixtures"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/build/hostile"
	"github.com/arbor-atproto/arbor/diff"
	"github.com/arbor-atproto/arbor/mst"
)

// hostileArchive reads the repository build makes (signed with a new
// k256 key) as view reads one.
func hostileArchive(t *testing.T, build func(atcrypto.PrivateKey, syntax.DID, int) (*hostile.Repo, error), n int) *archive.Bodies {
	t.Helper()
	k := testfixtures.NewKey(t, false)
	r, err := build(k, "did:plc:abcdefghijklmnopqrstuvwx", n)
	if err != nil {
		t.Fatal(err)
	}
	a, err := archive.ReadWithBodies(bytes.NewReader(r.CAR), archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// sharedArchive reads a repository of levels nodes where each node links
// to the one below twice (left and right): 2^levels paths through
// levels+1 blocks, correct hashes, a signed commit.
func sharedArchive(t *testing.T, levels int) *archive.Bodies {
	t.Helper()
	return hostileArchive(t, hostile.SharedChain, levels)
}

// A tree whose nodes share subtrees (a DAG) is refused as "reached twice"
// by every way of walking it; with 40 levels, a walk that followed every
// path would take days.
func TestSharedSubtreesAreRefusedNotWalkedExponentially(t *testing.T) {
	a := sharedArchive(t, 40)
	walks := []struct {
		name string
		run  func() error
	}{
		{"server start (counts records with Seek)", func() error {
			_, err := NewServer([]Input{{Name: "shared.car", Archive: a}}, Options{})
			return err
		}},
		{"server start with two inputs (diff)", func() error {
			_, err := NewServer([]Input{{Name: "a.car", Archive: a}, {Name: "b.car", Archive: a}}, Options{})
			return err
		}},
		{"Seek from the start", func() error {
			return NewBrowser(a, a.Data).Seek("", func(string, cid.Cid) bool { return true })
		}},
		{"Seek from a key", func() error {
			return NewBrowser(a, a.Data).Seek("app.bsky.feed.post/k0", func(string, cid.Cid) bool { return true })
		}},
		{"Text", func() error { _, err := Text(io.Discard, NewBrowser(a, a.Data), RenderOptions{}); return err }},
		{"DOT", func() error { _, err := DOT(io.Discard, NewBrowser(a, a.Data), RenderOptions{}); return err }},
		{"Nested", func() error { _, err := Nested(NewBrowser(a, a.Data), RenderOptions{}); return err }},
	}
	for _, w := range walks {
		t.Run(w.name, func(t *testing.T) {
			err := w.run()
			if !errors.Is(err, diff.ErrBadTree) {
				t.Fatalf("error %v, want one wrapping diff.ErrBadTree", err)
			}
		})
	}
}

// deepArchive reads a repository whose tree is a chain of depth
// entry-less nodes above a leaf (hostile.DeepChain).
func deepArchive(t *testing.T, depth int) *archive.Bodies {
	t.Helper()
	return hostileArchive(t, hostile.DeepChain, depth)
}

// A chain of entry-less nodes is drawn up to mst.MaxDepth levels (the
// deepest any tree can be) and refused beyond, at once, however long it
// is.
func TestChainsDeeperThanAnyLayerAreRefused(t *testing.T) {
	for _, tc := range []struct {
		depth int // entry-less nodes above the leaf
		ok    bool
	}{
		{mst.MaxDepth - 1, true},
		{mst.MaxDepth, false},
		{150_000, false},
	} {
		a := deepArchive(t, tc.depth)
		check := func(what string, err error) {
			t.Helper()
			if tc.ok && err != nil {
				t.Errorf("%d levels: %s: %v", tc.depth+1, what, err)
			}
			if !tc.ok && !errors.Is(err, diff.ErrBadTree) {
				t.Errorf("%d levels: %s: error %v, want one wrapping diff.ErrBadTree", tc.depth+1, what, err)
			}
		}
		_, err := NewServer([]Input{{Name: "deep.car", Archive: a}}, Options{})
		check("server start", err)
		_, err = Text(io.Discard, NewBrowser(a, a.Data), RenderOptions{})
		check("Text", err)
		_, _, err = NewBrowser(a, a.Data).Path("app.bsky.feed.post/zzz")
		check("Path", err)
	}
}
