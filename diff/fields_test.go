package diff

import (
	"encoding/json"
	"testing"

	"github.com/arbor-atproto/arbor/dagcbor"
)

func cborOf(t *testing.T, js string) []byte {
	t.Helper()
	v, err := dagcbor.FromJSON([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	b, err := dagcbor.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Expected changes written by hand from the two JSON documents.
func TestFieldsListsEachChangedLeafAsAJSONPointer(t *testing.T) {
	cases := []struct {
		name     string
		old, new string
		want     []FieldChange
	}{
		{"same", `{"text":"a","n":1}`, `{"n":1,"text":"a"}`, nil},
		{"changed string", `{"text":"a"}`, `{"text":"b"}`, []FieldChange{{Path: "/text", Old: json.RawMessage(`"a"`), New: json.RawMessage(`"b"`)}}},
		{"added and removed", `{"a":1}`, `{"b":true}`, []FieldChange{
			{Path: "/a", Old: json.RawMessage(`1`)},
			{Path: "/b", New: json.RawMessage(`true`)},
		}},
		{"nested and escaped keys", `{"x":{"a/b":1,"t~":[1,2]}}`, `{"x":{"a/b":2,"t~":[1]}}`, []FieldChange{
			{Path: "/x/a~1b", Old: json.RawMessage(`1`), New: json.RawMessage(`2`)},
			{Path: "/x/t~0/1", Old: json.RawMessage(`2`)},
		}},
		{"type change", `{"v":[1]}`, `{"v":{"a":1}}`, []FieldChange{{Path: "/v", Old: json.RawMessage(`[1]`), New: json.RawMessage(`{"a":1}`)}}},
		{"link", `{"s":{"$link":"bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"}}`,
			`{"s":{"$link":"bafyreifnvbnowl4sk26xufwy7n22c7xv2wu6sl6v7kqeniutbsdjvp2zry"}}`,
			[]FieldChange{{Path: "/s/$link", Old: json.RawMessage(`"bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"`),
				New: json.RawMessage(`"bafyreifnvbnowl4sk26xufwy7n22c7xv2wu6sl6v7kqeniutbsdjvp2zry"`)}}},
		{"unicode kept", `{"t":"é<"}`, `{"t":"🌳"}`, []FieldChange{{Path: "/t", Old: json.RawMessage(`"é<"`), New: json.RawMessage(`"🌳"`)}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Fields(cborOf(t, c.old), cborOf(t, c.new))
			if err != nil {
				t.Fatal(err)
			}
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(c.want)
			if string(gj) != string(wj) {
				t.Errorf("got  %s\nwant %s", gj, wj)
			}
		})
	}
}

func TestFieldsRejectsBlocksThatAreNotDAGCBOR(t *testing.T) {
	good := cborOf(t, `{"a":1}`)
	for _, bad := range [][]byte{nil, {0xff}, {0xa1, 0x61}} {
		if _, err := Fields(good, bad); err == nil {
			t.Errorf("Fields accepted %x", bad)
		}
		if _, err := Fields(bad, good); err == nil {
			t.Errorf("Fields accepted %x as the old record", bad)
		}
	}
}
