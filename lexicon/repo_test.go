package lexicon

import (
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
)

func cborOf(t *testing.T, j string) []byte {
	t.Helper()
	b, err := dagcbor.JSONToCBOR([]byte(j))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRepoCheckAttributesVerdicts: verdict codes kept per block are
// attributed to paths: a shared block counts at each path, a $type that
// is not the collection is invalid there, code 0 is unchecked, and a blob
// declared two ways is a blob problem.
func TestRepoCheckAttributesVerdicts(t *testing.T) {
	c := mustLoad(t)
	rc := NewRepoCheck(c)
	post := rc.Check(cborOf(t, `{"$type":"app.bsky.feed.post","text":"hi","createdAt":"`+okTime+`"}`))
	bad := rc.Check(cborOf(t, `{"$type":"app.bsky.feed.post","text":"hi"}`))
	other := rc.Check(cborOf(t, `{"$type":"com.example.x"}`))
	av := func(mime string) uint32 {
		return rc.Check(cborOf(t, `{"$type":"app.bsky.actor.profile","avatar":{"$type":"blob","ref":{"$link":"bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"},"mimeType":"`+mime+`","size":5}}`))
	}
	png, jpeg := av("image/png"), av("image/jpeg")
	for _, code := range []uint32{post, bad, other, png, jpeg} {
		if code == 0 {
			t.Fatal("Check returned 0")
		}
	}
	some := cid.MustParse(okCID)
	for _, rec := range []struct {
		key     string
		code    uint32
		invalid bool
	}{
		{"app.bsky.feed.post/a", post, false},
		{"app.bsky.feed.post/b", post, false}, // the same block again
		{"app.bsky.feed.post/c", bad, true},
		{"app.bsky.feed.like/a", post, true}, // a post in the likes
		{"app.bsky.feed.post/d", 0, false},   // block missing: unchecked
		{"com.example.x/1", other, false},
		{"app.bsky.actor.profile/self", png, false},
		{"app.bsky.actor.profile/other", jpeg, false},
	} {
		if ir := rc.Record([]byte(rec.key), some, rec.code); (ir != nil) != rec.invalid {
			t.Errorf("%s: %v", rec.key, ir)
		}
	}
	rep := rc.Report()
	if rep.Records != 8 || rep.Valid != 4 || rep.Invalid != 2 || rep.Unknown != 1 {
		t.Errorf("report %+v", rep)
	}
	byColl := map[string]CollectionVerdict{}
	for _, cv := range rep.Collections {
		byColl[cv.Collection] = cv
	}
	if cv := byColl["app.bsky.feed.post"]; cv.Records != 4 || cv.Valid != 2 || cv.Invalid != 1 || cv.Unchecked != 1 {
		t.Errorf("posts %+v", cv)
	}
	if len(rep.InvalidRecords) != 2 || rep.InvalidRecords[1].Issues[0].Rule != RuleRecordType {
		t.Errorf("invalid records %+v", rep.InvalidRecords)
	}
	if rep.Blobs.Referenced != 1 || len(rep.Blobs.Problems) != 1 || !rep.Failed() {
		t.Errorf("blobs %+v", rep.Blobs)
	}
	rc.Strict = true
	if r := rc.Report(); !r.Strict || r.Unknown != 1 {
		t.Errorf("strict %+v", r)
	}
}

// TestFindBlobsFindsEveryReference: typed and legacy references anywhere
// in a record, with their paths, whatever the schema.
func TestFindBlobsFindsEveryReference(t *testing.T) {
	b := cborOf(t, `{"$type":"com.example.x","a":[{"img":{"$type":"blob","ref":{"$link":"bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"},"mimeType":"image/png","size":5}}],"old":{"cid":"bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy","mimeType":"image/jpeg"},"not":{"$type":"com.example.y","mimeType":"x"}}`)
	got := FindBlobs(b)
	if len(got) != 2 || got[0].Path != "$.a[0].img" || got[0].Size != 5 || got[1].Path != "$.old" || got[1].Size != -1 || got[1].MimeType != "image/jpeg" {
		t.Fatalf("%+v", got)
	}
}
