package archive

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/arbor-atproto/arbor/internal/testfixtures"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
)

// variants rewrites a CAR in ways that exercise compact nodes: blocks in
// reverse order (records and children before the nodes linking to them),
// a record dropped, a node dropped, and a node's bytes replaced by another
// block's (a hash mismatch).
func variants(t *testing.T, raw []byte) map[string][]byte {
	t.Helper()
	roots, order, blocks := testfixtures.CARBlocks(t, raw)
	write := func(order []cid.Cid, bytesOf func(cid.Cid) []byte) []byte {
		var buf bytes.Buffer
		w, err := car.NewWriter(&buf, roots)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range order {
			if err := w.Put(c, bytesOf(c)); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	same := func(c cid.Cid) []byte { return blocks[c] }
	reversed := slices.Clone(order)
	slices.Reverse(reversed)
	out := map[string][]byte{"as is": raw, "reversed": write(reversed, same)}
	var node, record cid.Cid
	for _, c := range order[1:] {
		if looksLikeNode(blocks[c]) && !node.Defined() {
			node = c
		} else if !looksLikeNode(blocks[c]) && !record.Defined() {
			record = c
		}
	}
	without := func(drop cid.Cid) []byte {
		return write(slices.DeleteFunc(slices.Clone(order), func(c cid.Cid) bool { return c == drop }), same)
	}
	if record.Defined() {
		out["record dropped"] = without(record)
	}
	if node.Defined() {
		out["node dropped"] = without(node)
		out["node corrupted"] = write(order, func(c cid.Cid) []byte {
			if c == node {
				return []byte{0xa2, 0x61, 'e', 0x80, 0x61, 'l', 0xf6}
			}
			return blocks[c]
		})
	}
	return out
}

// CompactNodes changes what the archive keeps, not what Verify and Inspect
// say: on every golden, corpus and exhaustive MST CAR, as is and broken in
// the ways variants lists, both modes give the same report and statistics.
func TestCompactNodesChangeNothingButMemory(t *testing.T) {
	for _, f := range sampleCARs(t, "exhaustive_00[0-4]*.car") {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := car.ReadAll(bytes.NewReader(raw)); err != nil {
			continue // not a readable CAR: nothing to compare
		}
		for name, in := range variants(t, raw) {
			t.Run(filepath.Base(f)+"/"+name, func(t *testing.T) {
				if plain, compact := bothModes(in); plain != compact {
					t.Errorf("plain:\n%s\ncompact:\n%s", plain, compact)
				}
			})
		}
	}
}

// bothModes reads in without and with CompactNodes and describes what
// each archive says: distinct blocks, Verify's report, Inspect's stats.
func bothModes(in []byte) (plain, compact string) {
	var got [2]string
	for k, compact := range []bool{false, true} {
		a, err := read(bytes.NewReader(in), loadOptions{CollectBadBlocks: true, CompactNodes: compact})
		if err != nil {
			got[k] = "read: " + err.Error()
			continue
		}
		r, verr := a.Verify(VerifyOptions{})
		s, serr := a.Inspect()
		got[k] = fmt.Sprintf("distinct %d\nverify %v\n%s\ninspect %v\n%s", a.DistinctBlocks(), verr, report(r), serr, stats(s))
	}
	return got[0], got[1]
}

func report(r *Report) string {
	if r == nil {
		return "no report"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "records %d valid %v\n", r.Records, r.Valid())
	for _, p := range r.Problems {
		fmt.Fprintln(&b, p.Error())
	}
	return b.String()
}

func stats(s *Stats) string {
	if s == nil {
		return "no stats"
	}
	return fmt.Sprintf("%+v", reflect.ValueOf(*s).Interface())
}

// The records a compact archive's tree walk finds, and their CIDs, are
// those of a plain archive, and Order is not offered.
func TestCompactNodesWalkAndOrder(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "golden", "repos", "r300.car"))
	if err != nil {
		t.Fatal(err)
	}
	var walks [2][]string
	for k, compact := range []bool{false, true} {
		a, err := read(bytes.NewReader(raw), loadOptions{CompactNodes: compact})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Walk(func(key []byte, val cid.Cid) error {
			walks[k] = append(walks[k], string(key)+" "+val.String())
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if (a.order() == nil) != compact {
			t.Errorf("compact %v: Order returned %d CIDs", compact, len(a.order()))
		}
	}
	if len(walks[0]) != 300 || !slices.Equal(walks[0], walks[1]) {
		t.Errorf("walks differ: %d and %d records", len(walks[0]), len(walks[1]))
	}
}

// FuzzCompactNodesAgree: on any input, reading with and without
// CompactNodes gives the same verdict, report and statistics, and nothing
// panics.
//
//	go test ./repo -run XXX -fuzz FuzzCompactNodesAgree -fuzzminimizetime 3s
//
// (each input is read twice, a few milliseconds: the default minimizing
// time of a minute per new input would take most of a short run).
func FuzzCompactNodesAgree(f *testing.F) {
	for _, name := range []string{"one.car", "ten.car", "empty.car", "noncanonical-flat.car", "p256-50.car"} {
		if b, err := os.ReadFile(filepath.Join("..", "golden", "repos", name)); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if plain, compact := bothModes(in); plain != compact {
			t.Fatalf("plain:\n%s\ncompact:\n%s", plain, compact)
		}
	})
}
