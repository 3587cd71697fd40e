package view

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// TestJSONStreamsNestedsDocument: the streamed JSON of every golden repo,
// whole and cut at each depth, parses to exactly what Nested builds in
// memory, and its counts are the reference's (mstNodeCount, recordCount,
// mstDepth from golden/repos/NAME.json).
func TestJSONStreamsNestedsDocument(t *testing.T) {
	for _, name := range append(canonicalGolden, "noncanonical-flat") {
		g, a := loadGolden(t, name)
		for _, depth := range []int{0, 1, 2, 3} {
			tree := NewBrowser(a, a.Data)
			opts := RenderOptions{Depth: depth}
			want, err := Nested(tree, opts)
			if err != nil {
				t.Fatalf("%s: Nested: %v", name, err)
			}
			var buf bytes.Buffer
			s, err := JSON(&buf, tree, opts)
			if err != nil {
				t.Fatalf("%s: JSON: %v", name, err)
			}
			if bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
				t.Fatalf("%s: the document is not one line", name)
			}
			var got JSONTree
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("%s depth %d: %v in %s", name, depth, err, buf.String())
			}
			if !reflect.DeepEqual(&got, want) {
				t.Fatalf("%s depth %d: streamed document differs from Nested", name, depth)
			}
			if s.Nodes != got.Nodes || s.Records != got.Records {
				t.Fatalf("%s: summary %+v, document %d nodes %d records", name, s, got.Nodes, got.Records)
			}
			if depth == 0 && name != "noncanonical-flat" {
				if got.Nodes != g.MSTNodeCount || got.Records != g.RecordCount || got.Depth != g.MSTDepth || got.Root != g.DataCID {
					t.Fatalf("%s: %d nodes, %d records, depth %d, root %s; the reference says %d, %d, %d, %s",
						name, got.Nodes, got.Records, got.Depth, got.Root, g.MSTNodeCount, g.RecordCount, g.MSTDepth, g.DataCID)
				}
			}
		}
	}
}

// TestAppendJSONStringMatchesEncodingJSON: every string, control
// characters, quotes, HTML characters, invalid UTF-8 and line separators
// included, decodes to what encoding/json would have written.
func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote\back`, "tab\tnl\ncr\r\x00\x1f", "<&>", "é ✓ 🌳", "bad\xff\xfeutf8", "\u2028\u2029", "a/b:c~d"} {
		want, _ := json.Marshal(s)
		var fromStd, fromOurs string
		json.Unmarshal(want, &fromStd)
		if err := json.Unmarshal(appendJSONString(nil, s), &fromOurs); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if fromOurs != fromStd {
			t.Fatalf("%q decodes to %q, encoding/json's to %q", s, fromOurs, fromStd)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 266885: "266,885", 1000000: "1,000,000", -1234: "-1,234"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
