package archive

import (
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/internal/testfixtures"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

// modes are the two ways verify and inspect read an archive; both must give
// the same verdict.
var modes = []struct {
	name    string
	compact bool
}{{"bytes", false}, {"compact", true}}

// hasProblem reports whether r lists a problem of kind wrapping want.
func hasProblem(r *Report, kind string, want error) bool {
	for _, p := range r.Problems {
		if p.Kind == kind && errors.Is(p, want) {
			return true
		}
	}
	return false
}

func TestVerifyAcceptsTheGeneratedRepository(t *testing.T) {
	k := testfixtures.NewKey(t, false)
	for _, g := range []*genRepo{
		{key: k, records: genPosts(t, 50)},
		{key: k, records: genPosts(t, 50), version: repo.VersionLegacy}, // v2 without rev
	} {
		data, _ := g.build(t)
		for _, m := range modes {
			r, err := readGen(t, data, m.compact).Verify(VerifyOptions{Key: testfixtures.PublicKey(t, k)})
			if err != nil || !r.Valid() || r.Records != 50 {
				t.Fatalf("v%d %s: %v %+v", g.version, m.name, err, r)
			}
		}
	}
}

// A CAR whose root is an MST node has no commit: nothing in it is signed.
// Asked for a signature, a DID or a record proof, verify must fail; asked
// for nothing, it checks the tree.
func TestVerifyBareTreeProvesNothingSigned(t *testing.T) {
	k := testfixtures.NewKey(t, false)
	g := &genRepo{key: k, records: genPosts(t, 40), roots: []string{"data"}}
	data, _ := g.build(t)
	present := "app.bsky.feed.post/3k00000000007"
	tests := []struct {
		name string
		opts VerifyOptions
	}{
		{"key", VerifyOptions{Key: testfixtures.PublicKey(t, k)}},
		{"did document", VerifyOptions{Key: testfixtures.PublicKey(t, k), DID: "did:plc:arborrepotestsaaaaaaaaaa"}},
		{"resolve", VerifyOptions{RequireCommit: true}},
		{"record present", VerifyOptions{Record: present}},
		{"record absent", VerifyOptions{Record: "app.bsky.feed.post/3zzzzzzzzzzzz", Key: testfixtures.PublicKey(t, k)}},
	}
	for _, m := range modes {
		a := readGen(t, data, m.compact)
		if !a.IsBareTree() {
			t.Fatal("not read as a bare tree")
		}
		for _, tc := range tests {
			r, err := a.Verify(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if r.Valid() || !hasProblem(r, KindCommit, ErrNoCommit) {
				t.Errorf("%s %s: problems %v, want ErrNoCommit", m.name, tc.name, r.Problems)
			}
			if r.SignatureChecked {
				t.Errorf("%s %s: signature reported checked", m.name, tc.name)
			}
			if r.Proof != nil {
				t.Errorf("%s %s: proof %+v of an unsigned tree", m.name, tc.name, r.Proof)
			}
		}
		r, err := a.Verify(VerifyOptions{})
		if err != nil || !r.Valid() || r.Records != 40 {
			t.Errorf("%s: bare tree without a key: %v %+v, want valid", m.name, err, r.Problems)
		}
	}
}

// entrylessChainRepo is a signed repository whose tree is n entry-less
// nodes above a leaf: deeper than any valid tree when n >= mst.MaxDepth.
func entrylessChainRepo(t testing.TB, n int) []byte {
	g := &genRepo{key: testfixtures.NewKey(t, false), records: genPosts(t, 1), chain: n}
	data, _ := g.build(t)
	return data
}

func TestVerifyAndInspectStopAtChainsDeeperThanAnyLayer(t *testing.T) {
	data := entrylessChainRepo(t, 200_000)
	for _, m := range modes {
		a := readGen(t, data, m.compact)
		r, err := a.Verify(VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		deep := 0
		for _, p := range r.Problems {
			if p.Kind == KindMST && errors.Is(p, mst.ErrWrongLayer) && strings.Contains(p.Error(), "deeper than any layer") {
				deep++
			}
		}
		if deep != 1 {
			t.Errorf("%s verify: problems %v, want one deeper-than-any-layer", m.name, r.Problems)
		}
		_, err = a.Inspect()
		var p mst.Problem
		if !errors.As(err, &p) || !errors.Is(err, mst.ErrWrongLayer) || !strings.Contains(err.Error(), "deeper than any layer") {
			t.Errorf("%s inspect: %v, want an mst.Problem wrapping ErrWrongLayer", m.name, err)
		}
	}
}

// A chain within the bound is walked to its end by Inspect.
func TestInspectWalksAChainAsDeepAsAValidTree(t *testing.T) {
	data := entrylessChainRepo(t, mst.MaxDepth-1)
	for _, m := range modes {
		s, err := readGen(t, data, m.compact).Inspect()
		if err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		if s.MSTDepth != mst.MaxDepth || s.Records != 1 || len(s.Unreferenced) != 0 {
			t.Errorf("%s: depth %d, records %d, unreferenced %d; want %d, 1, 0", m.name, s.MSTDepth, s.Records, len(s.Unreferenced), mst.MaxDepth)
		}
	}
}

// A tree node whose bytes do not match its CID is listed as a bad block,
// like a record with the same fault, not an error that stops verify.
func TestVerifyListsBlocksWhoseBytesDoNotMatchTheirCID(t *testing.T) {
	k := testfixtures.NewKey(t, false)
	for _, corrupt := range []string{"data", "app.bsky.feed.post/3k00000000003"} {
		g := &genRepo{key: k, records: genPosts(t, 300), corrupt: corrupt}
		data, _ := g.build(t)
		for _, m := range modes {
			r, err := readGen(t, data, m.compact).Verify(VerifyOptions{Key: testfixtures.PublicKey(t, k)})
			if err != nil {
				t.Fatalf("%s %s: verify stopped: %v", corrupt, m.name, err)
			}
			if r.Valid() || r.Problems[0].Kind != KindBlock {
				t.Errorf("%s %s: problems %v, want a block problem first", corrupt, m.name, r.Problems)
			}
			for _, p := range r.Problems {
				if p.Kind == KindMST && errors.Is(p, mst.ErrBadBlock) {
					t.Errorf("%s %s: the bad block is listed twice: %v", corrupt, m.name, p)
				}
			}
		}
	}
}

func mustEncode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := dagcbor.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Verdicts the reference gives and verify must too: each input has correct
// hashes and a real signature, and breaks one rule.
func TestVerifyRefusesWhatNoRepositoryHas(t *testing.T) {
	k := testfixtures.NewKey(t, false)
	post := func(r map[string][]byte, path string, rec []byte) map[string][]byte {
		r[path] = rec
		return r
	}
	big := mustEncode(t, map[string]any{"$type": "app.bsky.feed.post", "text": strings.Repeat("x", MaxRecordSize)})
	tests := []struct {
		name string
		g    *genRepo
		kind string
		want error
	}{
		{"two roots", &genRepo{records: genPosts(t, 3), roots: []string{"commit", "commit"}}, KindHeader, ErrRootCount},
		{"record is not a map", &genRepo{records: post(genPosts(t, 3), "app.bsky.feed.post/3kaaaaaaaaaaa", mustEncode(t, []any{"a"}))}, KindRecord, ErrNotARecord},
		{"record is an integer", &genRepo{records: post(genPosts(t, 3), "app.bsky.feed.post/3kaaaaaaaaaaa", mustEncode(t, int64(7)))}, KindRecord, ErrNotARecord},
		{"record without $type", &genRepo{records: post(genPosts(t, 3), "app.bsky.feed.post/3kaaaaaaaaaaa", mustEncode(t, map[string]any{"text": "hi"}))}, KindRecord, ErrNotARecord},
		{"record with a number $type", &genRepo{records: post(genPosts(t, 3), "app.bsky.feed.post/3kaaaaaaaaaaa", mustEncode(t, map[string]any{"$type": int64(1), "text": "hi"}))}, KindRecord, ErrNotARecord},
		{"record over 1 MiB", &genRepo{records: post(genPosts(t, 3), "app.bsky.feed.post/3kaaaaaaaaaaa", big)}, KindRecord, ErrNotARecord},
		{"v2 commit with rev", &genRepo{records: genPosts(t, 3), version: repo.VersionLegacy, rev: "3kabcdefghij2"}, KindCommit, ErrInvalidCommit},
		{"did:plc of the wrong length and case", &genRepo{records: genPosts(t, 3), did: "did:plc:AAAA"}, KindCommit, ErrInvalidCommit},
		{"did:plc with a character outside base32", &genRepo{records: genPosts(t, 3), did: "did:plc:arborrepotestsaaaaaaaaa0"}, KindCommit, ErrInvalidCommit},
		{"collection that is not an NSID", &genRepo{records: post(genPosts(t, 3), "notannsid/3kaaaaaaaaaaa", genRecord(t, 9))}, KindRecord, repo.ErrInvalidPath},
		{"record key over 512 bytes", &genRepo{records: post(genPosts(t, 3), "app.bsky.feed.post/"+strings.Repeat("k", 513), genRecord(t, 9))}, KindRecord, repo.ErrInvalidPath},
	}
	for _, tc := range tests {
		tc.g.key = k
		data, _ := tc.g.build(t)
		for _, m := range modes {
			r, err := readGen(t, data, m.compact).Verify(VerifyOptions{Key: testfixtures.PublicKey(t, k)})
			if err != nil {
				t.Fatalf("%s %s: %v", tc.name, m.name, err)
			}
			if !hasProblem(r, tc.kind, tc.want) {
				t.Errorf("%s %s: problems %v, want a %s problem wrapping %v", tc.name, m.name, r.Problems, tc.kind, tc.want)
			}
			if len(r.Problems) != 1 {
				t.Errorf("%s %s: %d problems, want exactly one: %v", tc.name, m.name, len(r.Problems), r.Problems)
			}
		}
	}
}

// The same rules hold for a proof of one record.
func TestVerifyRecordProofChecksTheRecord(t *testing.T) {
	k := testfixtures.NewKey(t, false)
	path := "app.bsky.feed.post/3kaaaaaaaaaaa"
	recs := genPosts(t, 3)
	recs[path] = mustEncode(t, map[string]any{"text": "no type"})
	data, _ := (&genRepo{key: k, records: recs}).build(t)
	for _, m := range modes {
		r, err := readGen(t, data, m.compact).Verify(VerifyOptions{Key: testfixtures.PublicKey(t, k), Record: path})
		if err != nil {
			t.Fatal(err)
		}
		if !hasProblem(r, KindRecord, ErrNotARecord) {
			t.Errorf("%s: problems %v, want ErrNotARecord", m.name, r.Problems)
		}
	}
}

// isCommitShaped reports whether a block decodes to a map with the fields
// every commit has (did, data, sig, version): an independent way to count
// the commits of a file.
func isCommitShaped(b []byte) bool {
	v, err := dagcbor.Decode(b)
	if err != nil {
		return false
	}
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for _, k := range []string{"did", "data", "sig", "version"} {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}

// fakermaker is a legacy v2 export with history: its older commits are
// there without their records. Every commit and every node of their trees
// is reachable through prev, so nothing is unreferenced.
func TestInspectCountsTheHistoryOfLegacyExports(t *testing.T) {
	data := testfixtures.Read(t, "corpus", "indigo", "testing", "testdata", "fakermaker.repo.car")
	_, order, blocks := testfixtures.CARBlocks(t, data)
	commits := 0
	for _, c := range order {
		if isCommitShaped(blocks[c]) {
			commits++
		}
	}
	if commits != 143 { // PROVENANCE.md
		t.Fatalf("%d commit-shaped blocks, PROVENANCE.md says 143", commits)
	}
	for _, m := range modes {
		a, err := read(strings.NewReader(string(data)), loadOptions{CompactNodes: m.compact})
		if err != nil {
			t.Fatal(err)
		}
		s, err := a.Inspect()
		if err != nil {
			t.Fatal(err)
		}
		if s.Commits != commits || len(s.Unreferenced) != 0 || len(s.Missing) != 0 {
			t.Errorf("%s: %d commits, %d unreferenced, %d missing; want %d, 0, 0", m.name, s.Commits, len(s.Unreferenced), len(s.Missing), commits)
		}
	}
}

func TestInspectListsEveryUnreferencedBlockInOrder(t *testing.T) {
	const n = 100_000
	g := &genRepo{key: testfixtures.NewKey(t, false), records: genPosts(t, 10)}
	var want []string
	for i := range n {
		b := mustEncode(t, map[string]any{"n": int64(i)})
		g.extra = append(g.extra, b)
		want = append(want, dagcbor.SumCID(dagcbor.CodecDagCBOR, b).String())
	}
	sort.Strings(want)
	data, _ := g.build(t)
	for _, m := range modes {
		s, err := readGen(t, data, m.compact).Inspect()
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Unreferenced) != n {
			t.Fatalf("%s: %d unreferenced, want %d", m.name, len(s.Unreferenced), n)
		}
		for i, c := range s.Unreferenced {
			if c.String() != want[i] {
				t.Fatalf("%s: unreferenced[%d] = %s, want %s", m.name, i, c, want[i])
			}
		}
	}
}

func TestValidateRepoDID(t *testing.T) {
	for did, ok := range map[string]bool{
		"did:plc:ewvi7nxzyoun6zhxrhs64oiz":  true,
		"did:web:example.com":               true,
		"did:plc:AAAA":                      false,
		"did:plc:EWVI7NXZYOUN6ZHXRHS64OIZ":  false,
		"did:plc:ewvi7nxzyoun6zhxrhs64oi1":  false, // 1 is not base32
		"did:plc:ewvi7nxzyoun6zhxrhs64oiza": false,
		"not a did":                         false,
	} {
		if err := ValidateRepoDID(did); (err == nil) != ok {
			t.Errorf("ValidateRepoDID(%q) = %v, want ok %v", did, err, ok)
		} else if err != nil && !errors.Is(err, ErrInvalidCommit) {
			t.Errorf("ValidateRepoDID(%q) = %v, want ErrInvalidCommit", did, err)
		}
	}
}
