package lexicon

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

func nsid(t *testing.T, s string) syntax.NSID {
	t.Helper()
	n, err := syntax.ParseNSID(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func mustLoad(t testing.TB, dirs ...string) *Catalog {
	t.Helper()
	c, err := Load(dirs...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const (
	okCID   = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"
	okURI   = "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3k2la3uyghk2b"
	okTime  = "2024-02-29T12:00:00.000Z"
	blobRef = `{"$type":"blob","ref":{"$link":"bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"},"mimeType":"%s","size":%d}`
)

// TestValidateOfficialRecords pins verdicts on records of the official
// schemas: each planted fault is reported at its path with its rule, and
// the valid records are valid.
func TestValidateOfficialRecords(t *testing.T) {
	c := mustLoad(t)
	avatar := func(mime string, size int) string {
		return strings.Replace(strings.Replace(blobRef, "%s", mime, 1), "%d", strconv.Itoa(size), 1)
	}
	long := strings.Repeat("é", 301) // 301 graphemes, 602 bytes: under maxLength 3000
	for _, tc := range []struct {
		name, json string
		status     Status
		path, rule string
	}{
		{"post", `{"$type":"app.bsky.feed.post","text":"hi","createdAt":"` + okTime + `","langs":["en"]}`, Valid, "", ""},
		{"reply post", `{"$type":"app.bsky.feed.post","text":"hi","createdAt":"` + okTime + `","reply":{"root":{"uri":"` + okURI + `","cid":"` + okCID + `"},"parent":{"uri":"` + okURI + `","cid":"` + okCID + `"}}}`, Valid, "", ""},
		{"like", `{"$type":"app.bsky.feed.like","createdAt":"` + okTime + `","subject":{"uri":"` + okURI + `","cid":"` + okCID + `"}}`, Valid, "", ""},
		{"profile with avatar", `{"$type":"app.bsky.actor.profile","displayName":"A","avatar":` + avatar("image/png", 1000) + `}`, Valid, "", ""},
		{"legacy blob", `{"$type":"app.bsky.actor.profile","avatar":{"cid":"bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy","mimeType":"image/jpeg"}}`, Valid, "", ""},
		{"open union: unknown member accepted", `{"$type":"app.bsky.feed.post","text":"","createdAt":"` + okTime + `","embed":{"$type":"com.example.embed","x":1}}`, Valid, "", ""},
		{"known values are open", `{"$type":"app.bsky.graph.list","name":"l","purpose":"com.example.purpose","createdAt":"` + okTime + `"}`, Valid, "", ""},
		{"unknown type", `{"$type":"com.example.thing","a":1}`, NoSchema, "", ""},
		{"missing required field", `{"$type":"app.bsky.feed.post","text":"hi"}`, Invalid, "$.createdAt", RuleRequired},
		{"wrong type", `{"$type":"app.bsky.feed.post","text":12345,"createdAt":"` + okTime + `"}`, Invalid, "$.text", RuleType},
		{"too many graphemes", `{"$type":"app.bsky.feed.post","text":"` + long + `","createdAt":"` + okTime + `"}`, Invalid, "$.text", RuleGraphemes},
		{"bad datetime", `{"$type":"app.bsky.feed.post","text":"","createdAt":"2024-02-30T12:00:00Z"}`, Invalid, "$.createdAt", RuleFormat},
		{"bad at-uri", `{"$type":"app.bsky.feed.like","createdAt":"` + okTime + `","subject":{"uri":"https://example.com/x","cid":"` + okCID + `"}}`, Invalid, "$.subject.uri", RuleFormat},
		{"bad cid", `{"$type":"app.bsky.feed.like","createdAt":"` + okTime + `","subject":{"uri":"` + okURI + `","cid":"not a cid"}}`, Invalid, "$.subject.cid", RuleFormat},
		{"bad did", `{"$type":"app.bsky.graph.follow","createdAt":"` + okTime + `","subject":"alice.example.com"}`, Invalid, "$.subject", RuleFormat},
		{"bad language in array", `{"$type":"app.bsky.feed.post","text":"","createdAt":"` + okTime + `","langs":["en","not a language"]}`, Invalid, "$.langs[1]", RuleFormat},
		{"wrong blob MIME type", `{"$type":"app.bsky.actor.profile","avatar":` + avatar("image/gif", 1000) + `}`, Invalid, "$.avatar", RuleBlobAccept},
		{"blob too large", `{"$type":"app.bsky.actor.profile","avatar":` + avatar("image/png", 1000001) + `}`, Invalid, "$.avatar", RuleBlobSize},
		{"union member without $type", `{"$type":"app.bsky.feed.post","text":"","createdAt":"` + okTime + `","embed":{"images":[]}}`, Invalid, "$.embed", RuleUnion},
		{"union member invalid", `{"$type":"app.bsky.feed.post","text":"","createdAt":"` + okTime + `","embed":{"$type":"app.bsky.embed.images"}}`, Invalid, "$.embed.images", RuleRequired},
		{"non-record $type", `{"$type":"app.bsky.feed.defs#postView","uri":"` + okURI + `"}`, Invalid, "$", RuleRecordType},
		{"query as $type", `{"$type":"app.bsky.feed.getTimeline"}`, Invalid, "$", RuleRecordType},
		{"no $type", `{"text":"hi"}`, Invalid, "$", RuleRecordType},
		{"not atproto JSON", `{"$type":"app.bsky.feed.post","text":"hi","createdAt":"` + okTime + `","n":1.5}`, Invalid, "$", RuleDataModel},
		{"null for a non-nullable field", `{"$type":"app.bsky.feed.post","text":null,"createdAt":"` + okTime + `"}`, Invalid, "$.text", RuleType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.ValidateJSON([]byte(tc.json))
			if r.Status != tc.status {
				t.Fatalf("status %s, want %s (%v)", r.Status, tc.status, r.Issues)
			}
			if tc.status != Invalid {
				if len(r.Issues) != 0 {
					t.Fatalf("issues on a %s record: %v", r.Status, r.Issues)
				}
				return
			}
			if len(r.Issues) == 0 || r.Issues[0].Path != tc.path || r.Issues[0].Rule != tc.rule {
				t.Fatalf("issues %v, want first at %s rule %s", r.Issues, tc.path, tc.rule)
			}
		})
	}
}

// TestLexiconDirOverridesAndAdds: a folder adds a schema the catalog lacks
// and replaces one it has (the replacement's rules apply, not the
// embedded ones); later folders win; a bad schema file is an error.
func TestLexiconDirOverridesAndAdds(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	write := func(dir, name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A like whose subject is any string: the embedded strongRef rule is gone.
	write(d1, "like.json", `{"lexicon":1,"id":"app.bsky.feed.like","defs":{"main":{"type":"record","key":"tid","record":{"type":"object","required":["subject"],"properties":{"subject":{"type":"string"}}}}}}`)
	write(d1, "thing.json", `{"lexicon":1,"id":"com.example.thing","defs":{"main":{"type":"record","key":"any","record":{"type":"object","required":["n"],"properties":{"n":{"type":"integer","maximum":3}}}}}}`)
	write(d2, "thing2.json", `{"lexicon":1,"id":"com.example.thing","defs":{"main":{"type":"record","key":"any","record":{"type":"object","properties":{"n":{"type":"integer","maximum":10}}}}}}`)
	c := mustLoad(t, d1)
	if r := c.ValidateJSON([]byte(`{"$type":"app.bsky.feed.like","subject":"x"}`)); r.Status != Valid {
		t.Errorf("overridden like: %s %v", r.Status, r.Issues)
	}
	if r := c.ValidateJSON([]byte(`{"$type":"com.example.thing","n":5}`)); r.Status != Invalid || r.Issues[0].Rule != RuleRange {
		t.Errorf("added thing: %s %v", r.Status, r.Issues)
	}
	c2 := mustLoad(t, d1, d2)
	if r := c2.ValidateJSON([]byte(`{"$type":"com.example.thing","n":5}`)); r.Status != Valid {
		t.Errorf("thing from the later folder: %s %v", r.Status, r.Issues)
	}
	if d := c2.Document("com.example.thing"); d == nil || !d.Overrides || !strings.HasSuffix(d.Source, "thing2.json") {
		t.Errorf("document %+v", d)
	}
	write(d2, "bad.json", `{"lexicon":1,"id":"not an nsid","defs":{}}`)
	if _, err := Load(d2); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("a bad schema file: %v", err)
	}
	if _, err := Load(filepath.Join(d1, "nope")); err == nil {
		t.Error("a missing folder loads")
	}
}
