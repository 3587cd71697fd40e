package lexicon

import (
	"encoding/json"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atdata"
	ilex "github.com/bluesky-social/indigo/atproto/lexicon"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// indigoVerdict validates a JSON record with indigo's ValidateRecord
// (legacy blobs allowed, as here): true when valid.
func indigoVerdict(t testing.TB, cat ilex.Catalog, j []byte) bool {
	t.Helper()
	d, err := atdata.UnmarshalJSON(j)
	if err != nil {
		return false
	}
	typ, _ := d["$type"].(string)
	return ilex.ValidateRecord(cat, d, typ, ilex.AllowLegacyBlob) == nil
}

// TestAgreesWithIndigo: on every interop record vector, valid or
// invalid, our verdict is indigo's.
func TestAgreesWithIndigo(t *testing.T) {
	dir := testfixtures.Path(t, "interop", "lexicon", "catalog")
	ours := mustLoad(t, dir)
	theirs := ilex.NewBaseCatalog()
	if err := theirs.LoadDirectory(dir); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range []string{"record-data-valid.json", "record-data-invalid.json"} {
		var vs []struct {
			Name string          `json:"name"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(testfixtures.Read(t, "interop", "lexicon", f), &vs); err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			n++
			r := ours.ValidateJSON(v.Data)
			if got, want := r.Status == Valid, indigoVerdict(t, theirs, v.Data); got != want {
				t.Errorf("%s %q: we say %s %v, indigo valid=%v", f, v.Name, r.Status, r.Issues, want)
			}
		}
	}
	if n < 50 {
		t.Fatalf("only %d vectors", n)
	}
}

// benchRecords are the three record shapes of bench/genrecords.
var benchRecords = []string{
	`{"$type":"app.bsky.feed.post","text":"atproto bluesky merkle search tree arbor repo commit signed record ","createdAt":"2023-06-01T00:00:01.371Z","langs":["en"]}`,
	`{"$type":"app.bsky.feed.like","createdAt":"2023-06-01T00:00:01.371Z","subject":{"uri":"at://did:plc:000000000000000123456789/app.bsky.feed.post/3jxtb5w2hkt2m","cid":"bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"}}`,
	`{"$type":"app.bsky.graph.follow","createdAt":"2023-06-01T00:00:01.371Z","subject":"did:plc:000000000000000123456789"}`,
}

func benchCBOR(b *testing.B) [][]byte {
	var out [][]byte
	for _, r := range benchRecords {
		c, err := dagcbor.JSONToCBOR([]byte(r))
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// BenchmarkIndigoValidate is the cost of validating with indigo as a
// repository's records would be: DAG-CBOR decoded by atdata, then
// ValidateRecord (the figure doc.go quotes).
func BenchmarkIndigoValidate(b *testing.B) {
	cat := ilex.NewBaseCatalog()
	if err := cat.LoadEmbedFS(official); err != nil {
		b.Fatal(err)
	}
	recs := benchCBOR(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d, err := atdata.UnmarshalCBOR(recs[i%3])
		if err != nil {
			b.Fatal(err)
		}
		if err := ilex.ValidateRecord(cat, d, d["$type"].(string), 0); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkValidate is ours on the same records (bytes already checked
// as DAG-CBOR, as the archive hands them over).
func BenchmarkValidate(b *testing.B) {
	c := mustLoad(b)
	recs := benchCBOR(b)
	var v Validator
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if r := v.Validate(c, recs[i%3]); r.Status != Valid {
			b.Fatal(r.Issues)
		}
		i++
	}
}

// BenchmarkLoad is the cost of loading the embedded catalog.
func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		mustLoad(b)
	}
}
