package commands

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/archive"
	"github.com/arbor-atproto/arbor/lexicon"
)

const (
	plantDID  = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
	plantTime = "2024-05-01T10:00:00.000Z"
	plantCID  = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"
	plantURI  = "at://" + plantDID + "/app.bsky.feed.post/3k2la3uyghk2a"
)

// plantedSchema is a record type of the test's own --lexicon-dir, for
// the rules no official record schema has (a closed union).
const plantedSchema = `{"lexicon":1,"id":"com.example.planted","defs":{
 "main":{"type":"record","key":"any","record":{"type":"object","required":["body"],"properties":{
  "body":{"type":"union","refs":["#a","#b"],"closed":true}}}},
 "a":{"type":"object","properties":{"n":{"type":"integer"}}},
 "b":{"type":"object","properties":{"s":{"type":"string"}}}}}`

// plantedRecord is one record of the planted repository and what verify
// --lexicon must say of it: nothing (path ""), or its first issue's JSON
// path and rule.
type plantedRecord struct {
	key, record string
	path, rule  string
}

func blobJSON(c, mime string, size int) string {
	return fmt.Sprintf(`{"$type":"blob","ref":{"$link":"%s"},"mimeType":"%s","size":%d}`, c, mime, size)
}

// pngBytes is the start of a PNG file: what content sniffing calls image/png.
var pngBytes = append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 56)...)

func plantedRecords(t *testing.T) []plantedRecord {
	avatar := blobCID(t, pngBytes)
	post := func(fields string) string { return `{"$type":"app.bsky.feed.post",` + fields + `}` }
	like := func(uri, c string) string {
		return `{"$type":"app.bsky.feed.like","createdAt":"` + plantTime + `","subject":{"uri":"` + uri + `","cid":"` + c + `"}}`
	}
	return []plantedRecord{
		// valid
		{"app.bsky.feed.post/3k2la3uyghk2a", post(`"text":"hello","createdAt":"` + plantTime + `","langs":["en"]`), "", ""},
		{"app.bsky.feed.like/3k2la3uyghk2a", like(plantURI, plantCID), "", ""},
		{"app.bsky.graph.follow/3k2la3uyghk2a", `{"$type":"app.bsky.graph.follow","createdAt":"` + plantTime + `","subject":"` + plantDID + `"}`, "", ""},
		{"app.bsky.actor.profile/self", `{"$type":"app.bsky.actor.profile","displayName":"P","avatar":` + blobJSON(avatar, "image/png", len(pngBytes)) + `}`, "", ""},
		{"com.example.planted/ok", `{"$type":"com.example.planted","body":{"$type":"com.example.planted#a","n":1}}`, "", ""},
		// invalid, one of each kind
		{"app.bsky.feed.post/3k2la3uyghk2b", post(`"text":"no date"`), "$.createdAt", lexicon.RuleRequired},
		{"app.bsky.feed.post/3k2la3uyghk2c", post(`"text":12345,"createdAt":"` + plantTime + `"`), "$.text", lexicon.RuleType},
		{"app.bsky.feed.post/3k2la3uyghk2d", post(`"text":"` + strings.Repeat("é", 301) + `","createdAt":"` + plantTime + `"`), "$.text", lexicon.RuleGraphemes},
		{"app.bsky.feed.post/3k2la3uyghk2e", post(`"text":"","createdAt":"yesterday"`), "$.createdAt", lexicon.RuleFormat},
		{"app.bsky.feed.like/3k2la3uyghk2b", like("https://example.com/post", plantCID), "$.subject.uri", lexicon.RuleFormat},
		{"app.bsky.feed.like/3k2la3uyghk2c", like(plantURI, "not-a-cid!"), "$.subject.cid", lexicon.RuleFormat},
		{"app.bsky.graph.follow/3k2la3uyghk2b", `{"$type":"app.bsky.graph.follow","createdAt":"` + plantTime + `","subject":"alice"}`, "$.subject", lexicon.RuleFormat},
		{"app.bsky.graph.verification/3k2la3uyghk2a", `{"$type":"app.bsky.graph.verification","subject":"` + plantDID + `","handle":"not a handle","displayName":"A","createdAt":"` + plantTime + `"}`, "$.handle", lexicon.RuleFormat},
		{"app.bsky.actor.profile/other", `{"$type":"app.bsky.actor.profile","avatar":` + blobJSON(avatar, "image/gif", len(pngBytes)) + `}`, "$.avatar", lexicon.RuleBlobAccept},
		{"app.bsky.actor.profile/big", `{"$type":"app.bsky.actor.profile","banner":` + blobJSON(blobCID(t, []byte("big")), "image/png", 2000000) + `}`, "$.banner", lexicon.RuleBlobSize},
		{"com.example.planted/closed", `{"$type":"com.example.planted","body":{"$type":"com.example.other#c"}}`, "$.body", lexicon.RuleUnion},
		{"app.bsky.feed.getTimeline/3k2la3uyghk2a", `{"$type":"app.bsky.feed.getTimeline"}`, "$", lexicon.RuleRecordType},
		{"app.bsky.feed.repost/3k2la3uyghk2a", post(`"text":"a post in the reposts","createdAt":"` + plantTime + `"`), "$", lexicon.RuleRecordType},
		// no known schema
		{"com.example.unknown/1", `{"$type":"com.example.unknown","x":1}`, "", ""},
	}
}

// plantedRepo writes the planted records' repository and the test's
// lexicon folder; it returns the CAR and the folder.
func plantedRepo(t *testing.T) (car, lexDir string, recs []plantedRecord) {
	dir := t.TempDir()
	lexDir = filepath.Join(dir, "lexicons")
	if err := os.Mkdir(lexDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lexDir, "planted.json"), []byte(plantedSchema), 0o644); err != nil {
		t.Fatal(err)
	}
	recs = plantedRecords(t)
	var lines strings.Builder
	for _, r := range recs {
		coll, rkey, _ := strings.Cut(r.key, "/")
		fmt.Fprintf(&lines, `{"collection":%q,"rkey":%q,"record":%s}`+"\n", coll, rkey, r.record)
	}
	in := filepath.Join(dir, "records.jsonl")
	if err := os.WriteFile(in, []byte(lines.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	car = filepath.Join(dir, "planted.car")
	if r := run(t, "", "key", "generate", "-o", filepath.Join(dir, "key")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := run(t, "", "create", "--did", plantDID, "--key", filepath.Join(dir, "key"), car, in); r.code != 0 {
		t.Fatalf("create: %s", r.stderr)
	}
	return car, lexDir, recs
}

// TestVerifyLexiconReportsEachPlantedRecord: verify --lexicon on a
// repository with one invalid record of each kind reports each of them,
// by path, JSON path and rule, and none of the valid ones; counts per
// collection add up; exit 1. Plain verify passes the same file.
func TestVerifyLexiconReportsEachPlantedRecord(t *testing.T) {
	car, lexDir, recs := plantedRepo(t)
	if r := run(t, "", "verify", car); r.code != 0 {
		t.Fatalf("plain verify: exit %d: %s", r.code, r.stdout)
	}
	var rep archive.VerifyReport
	r := runJSON(t, &rep, "verify", "--json", "--lexicon", "--lexicon-dir", lexDir, car)
	if r.code != 1 || rep.Valid || rep.Lexicon == nil {
		t.Fatalf("exit %d, valid %v, lexicon %v", r.code, rep.Valid, rep.Lexicon)
	}
	got := map[string]lexicon.InvalidRecord{}
	for _, ir := range rep.Lexicon.InvalidRecords {
		got[ir.Path] = ir
	}
	wantInvalid := 0
	for _, pr := range recs {
		ir, bad := got[pr.key]
		switch {
		case pr.path == "" && bad:
			t.Errorf("%s is valid, reported %v", pr.key, ir.Issues)
		case pr.path != "" && !bad:
			t.Errorf("%s not reported (want %s %s)", pr.key, pr.path, pr.rule)
		case pr.path != "" && (ir.Issues[0].Path != pr.path || ir.Issues[0].Rule != pr.rule):
			t.Errorf("%s: %v, want first at %s rule %s", pr.key, ir.Issues, pr.path, pr.rule)
		}
		if pr.path != "" {
			wantInvalid++
		}
	}
	lx := rep.Lexicon
	if lx.Invalid != wantInvalid || lx.Unknown != 1 || lx.Valid != len(recs)-wantInvalid-1 || lx.Records != len(recs) {
		t.Errorf("totals %d valid, %d invalid, %d unknown of %d", lx.Valid, lx.Invalid, lx.Unknown, lx.Records)
	}
	byColl := map[string]lexicon.CollectionVerdict{}
	for _, cv := range lx.Collections {
		byColl[cv.Collection] = cv
	}
	if cv := byColl["app.bsky.feed.post"]; cv.Records != 5 || cv.Valid != 1 || cv.Invalid != 4 {
		t.Errorf("posts: %+v", cv)
	}
	if cv := byColl["com.example.unknown"]; cv.Unknown != 1 || cv.Invalid != 0 {
		t.Errorf("unknown collection: %+v", cv)
	}
	lexProblems := 0
	for _, p := range rep.Problems {
		if p.Kind == archive.KindLexicon {
			lexProblems++
		}
	}
	// One more: the avatar blob is declared image/png by profile/self and
	// image/gif by profile/other.
	if lexProblems != wantInvalid+1 || len(lx.Blobs.Problems) != 1 || !strings.Contains(lx.Blobs.Problems[0].Error, "declared otherwise") {
		t.Errorf("%d lexicon problems, want %d; blobs %+v", lexProblems, wantInvalid+1, lx.Blobs)
	}
	// Text: each invalid record with its JSON path.
	txt := run(t, "", "verify", "--lexicon-dir", lexDir, car)
	if txt.code != 1 || !strings.Contains(txt.stdout, "app.bsky.feed.post/3k2la3uyghk2b: INVALID") || !strings.Contains(txt.stdout, "$.createdAt: required field missing") {
		t.Errorf("text output:\n%s", txt.stdout)
	}
}

// TestVerifyLexiconStrictAndUnknown: a collection with no known schema is
// counted, not failed, unless --lexicon-strict.
func TestVerifyLexiconStrictAndUnknown(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "r.jsonl")
	os.WriteFile(in, []byte(`{"collection":"app.bsky.feed.post","rkey":"3k2la3uyghk2a","record":{"$type":"app.bsky.feed.post","text":"hi","createdAt":"`+plantTime+`"}}
{"collection":"com.example.unknown","rkey":"1","record":{"$type":"com.example.unknown"}}
`), 0o644)
	run(t, "", "key", "generate", "-o", filepath.Join(dir, "key"))
	car := filepath.Join(dir, "r.car")
	if r := run(t, "", "create", "--did", plantDID, "--key", filepath.Join(dir, "key"), car, in); r.code != 0 {
		t.Fatal(r.stderr)
	}
	var rep archive.VerifyReport
	if r := runJSON(t, &rep, "verify", "--json", "--lexicon", car); r.code != 0 || rep.Lexicon.Unknown != 1 || rep.Lexicon.Valid != 1 {
		t.Errorf("not strict: exit %d, %+v", r.code, rep.Lexicon)
	}
	r := runJSON(t, &rep, "verify", "--json", "--lexicon-strict", car)
	if r.code != 1 || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Error, "com.example.unknown") {
		t.Errorf("strict: exit %d, %+v", r.code, rep.Problems)
	}
	if r := run(t, "", "verify", "--lexicon", "--record", "app.bsky.feed.post/3k2la3uyghk2a", car); r.code != 2 {
		t.Errorf("--lexicon with --record: exit %d", r.code)
	}
}

// TestVerifyLexiconBlobs: with --blobs DIR each referenced blob must be a
// file there with the declared size, its CID's bytes and a MIME type
// sniffing does not contradict.
func TestVerifyLexiconBlobs(t *testing.T) {
	dir := t.TempDir()
	blobs := filepath.Join(dir, "blobs")
	os.Mkdir(blobs, 0o755)
	good, short := blobCID(t, pngBytes), blobCID(t, []byte("short"))
	gif := append([]byte("GIF89a"), make([]byte, 20)...)
	gifCID := blobCID(t, gif)
	os.WriteFile(filepath.Join(blobs, good), pngBytes, 0o644)
	os.WriteFile(filepath.Join(blobs, short), []byte("short"), 0o644)
	os.WriteFile(filepath.Join(blobs, gifCID), gif, 0o644)
	recs := []string{
		`{"collection":"app.bsky.actor.profile","rkey":"self","record":{"$type":"app.bsky.actor.profile","avatar":` + blobJSON(good, "image/png", len(pngBytes)) + `,"banner":` + blobJSON(short, "image/png", 50) + `}}`,
		`{"collection":"app.bsky.feed.post","rkey":"3k2la3uyghk2a","record":{"$type":"app.bsky.feed.post","text":"","createdAt":"` + plantTime + `","embed":{"$type":"app.bsky.embed.images","images":[{"alt":"","image":` + blobJSON(gifCID, "image/png", len(gif)) + `},{"alt":"","image":` + blobJSON(blobCID(t, []byte("gone")), "image/png", 4) + `}]}}}`,
	}
	in := filepath.Join(dir, "r.jsonl")
	os.WriteFile(in, []byte(strings.Join(recs, "\n")+"\n"), 0o644)
	run(t, "", "key", "generate", "-o", filepath.Join(dir, "key"))
	car := filepath.Join(dir, "r.car")
	if r := run(t, "", "create", "--did", plantDID, "--key", filepath.Join(dir, "key"), car, in); r.code != 0 {
		t.Fatal(r.stderr)
	}
	var rep archive.VerifyReport
	if r := runJSON(t, &rep, "verify", "--json", "--lexicon", car); r.code != 0 || rep.Lexicon.Blobs.Referenced != 4 {
		t.Fatalf("without --blobs: exit %d, %+v %+v", r.code, rep.Lexicon.Blobs, rep.Problems)
	}
	r := runJSON(t, &rep, "verify", "--json", "--lexicon", "--blobs", blobs, car)
	b := rep.Lexicon.Blobs
	if r.code != 1 || b.Checked != 3 || len(b.Problems) != 3 {
		t.Fatalf("exit %d, %+v", r.code, b)
	}
	want := map[string]string{short: "declares 50", gifCID: "looks like image/gif", blobCID(t, []byte("gone")): "not in the folder"}
	for _, p := range b.Problems {
		if w, ok := want[p.CID]; !ok || !strings.Contains(p.Error, w) {
			t.Errorf("blob problem %+v", p)
		}
	}
	if r := run(t, "", "verify", "--blobs", filepath.Join(dir, "nope"), car); r.code != 2 {
		t.Errorf("a missing --blobs folder: exit %d", r.code)
	}
}
