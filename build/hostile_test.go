package build

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/archive"
	"github.com/arbor-atproto/arbor/internal/testfixtures"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/build/hostile"
	"github.com/arbor-atproto/arbor/mst"
)

// hostileCAR generates one of the malformed shapes of build/hostile with
// a fresh key.
func hostileCAR(t testing.TB, gen func(atcrypto.PrivateKey, syntax.DID, int) (*hostile.Repo, error), n int) []byte {
	t.Helper()
	k := testfixtures.NewKey(t, false)
	r, err := gen(k, "did:plc:abcdefghijklmnopqrstuvwx", n)
	if err != nil {
		t.Fatal(err)
	}
	return r.CAR
}

// A tree no valid repository has (a chain of entry-less nodes 150,000
// deep, subtrees shared by several parents) fails verification, at once
// and whether or not the input can be read twice, and nothing is written;
// it is not an unreadable input.
func TestRewriteRefusesMalformedTrees(t *testing.T) {
	inputs := []struct {
		name string
		car  []byte
	}{
		{"chain of entry-less nodes 150,000 deep", hostileCAR(t, hostile.DeepChain, 150_000)},
		{"40 levels of shared subtrees", hostileCAR(t, hostile.SharedChain, 40)},
	}
	for _, in := range inputs {
		for _, seekable := range []bool{true, false} {
			name := in.name
			if !seekable {
				name += ", from a stream"
			}
			t.Run(name, func(t *testing.T) {
				var src io.Reader = bytes.NewReader(in.car)
				if !seekable {
					src = io.MultiReader(src) // hides Seek
				}
				var out bytes.Buffer
				_, err := Rewrite(src, &out, RewriteOptions{})
				if !errors.Is(err, ErrInvalidInput) || !errors.Is(err, ErrFailsVerification) {
					t.Fatalf("error %v, want one wrapping ErrInvalidInput and ErrFailsVerification", err)
				}
				if out.Len() != 0 {
					t.Fatalf("wrote %d bytes before refusing", out.Len())
				}
			})
		}
	}
	t.Run("not a CAR is unreadable, not a verification failure", func(t *testing.T) {
		_, err := Rewrite(strings.NewReader("hello"), io.Discard, RewriteOptions{})
		if !errors.Is(err, ErrInvalidInput) || errors.Is(err, ErrFailsVerification) {
			t.Fatalf("error %v, want ErrInvalidInput alone", err)
		}
	})
}

// Force rebuilds the tree of a chain of entry-less nodes of any depth from
// its one record (the walk keeps its own stack, so depth costs no
// recursion), and refuses a tree whose nodes are reached twice.
func TestForcedRewriteOfMalformedTrees(t *testing.T) {
	key := testKeys(t)["k256"].key
	t.Run("deep chain", func(t *testing.T) {
		out, res, err := rewrite(t, hostileCAR(t, hostile.DeepChain, 150_000), RewriteOptions{Force: true, Key: key})
		if err != nil {
			t.Fatal(err)
		}
		if res.RecordsOut != 1 || !res.TreeRebuilt || len(res.InputErrors) == 0 {
			t.Fatalf("%d records out, rebuilt %v, %d input problems", res.RecordsOut, res.TreeRebuilt, len(res.InputErrors))
		}
		a := readArchive(t, out)
		rep, err := a.Verify(archive.VerifyOptions{})
		if err != nil || !rep.Valid() || rep.Records != 1 {
			t.Fatalf("output: %v, %+v", err, rep)
		}
	})
	t.Run("shared subtrees", func(t *testing.T) {
		out, _, err := rewrite(t, hostileCAR(t, hostile.SharedChain, 40), RewriteOptions{Force: true, Key: key})
		if !errors.Is(err, mst.ErrCycle) || !strings.Contains(err.Error(), "reached twice") {
			t.Fatalf("error %v, want a node reached twice", err)
		}
		if len(out) != 0 {
			t.Fatalf("wrote %d bytes before refusing", len(out))
		}
	})
}
