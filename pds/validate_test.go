package pds

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

const (
	vTime = "2024-01-01T00:00:00.000Z"
	vCID  = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"
)

// upload stores data as a blob of alice's with a Content-Type and returns
// the blob reference the PDS answers.
func upload(ts *testServer, u *user, data []byte, ctype string) map[string]any {
	ts.t.Helper()
	out := ts.ok(ts.do(http.MethodPost, "/xrpc/com.atproto.repo.uploadBlob", u.access, bytes.NewReader(data), map[string]string{"Content-Type": ctype}))
	return out["blob"].(map[string]any)
}

func withMime(blob map[string]any, mime string) map[string]any {
	b := map[string]any{}
	for k, v := range blob {
		b[k] = v
	}
	b["mimeType"] = mime
	return b
}

func withSize(blob map[string]any, size int) map[string]any {
	b := withMime(blob, blob["mimeType"].(string))
	b["size"] = size
	return b
}

// TestWritesAreValidatedAsTheReferenceDoes pins createRecord's answers:
// validationStatus valid / unknown / absent by the validate flag, and the
// reference's error names (InvalidRequest "Invalid TYPE record: PATH:
// ...", with PATH where the value is in the request; BlobNotFound,
// InvalidMimeType, InvalidSize) for each kind of bad record.
// TestValidationMatchesReference compares such answers with the
// reference's own.
func TestWritesAreValidatedAsTheReferenceDoes(t *testing.T) {
	ts, u := startWithAlice(t)
	png := upload(ts, u, append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 100)...), "image/png")
	gif := upload(ts, u, append([]byte("GIF89a"), make([]byte, 100)...), "image/gif")
	big := upload(ts, u, append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 1000001)...), "image/png")
	notUploaded := withMime(png, "image/png")
	notUploaded["ref"] = map[string]any{"$link": "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"}
	yes, no := true, false
	postRec := func(extra map[string]any) map[string]any {
		r := map[string]any{"$type": "app.bsky.feed.post", "text": "hi", "createdAt": vTime}
		for k, v := range extra {
			r[k] = v
		}
		return r
	}
	profile := func(avatar map[string]any) map[string]any {
		return map[string]any{"$type": "app.bsky.actor.profile", "avatar": avatar}
	}
	for _, tc := range []struct {
		name       string
		rec        map[string]any
		validate   *bool
		status     int
		want       string // validationStatus on success ("" absent), error name on failure
		msgHas     string
		collection string // default: the record's $type
	}{
		{"valid post", postRec(nil), nil, 200, "valid", "", ""},
		{"valid post, validate true", postRec(nil), &yes, 200, "valid", "", ""},
		{"unknown type", map[string]any{"$type": "com.example.thing", "x": 1}, nil, 200, "unknown", "", ""},
		{"unknown type, validate true", map[string]any{"$type": "com.example.thing", "x": 1}, &yes, 400, "InvalidRequest", "Unknown lexicon type: com.example.thing", ""},
		{"invalid, validate false", map[string]any{"$type": "app.bsky.feed.post", "text": 12345}, &no, 200, "", "", ""},
		{"text not a string", map[string]any{"$type": "app.bsky.feed.post", "text": 12345, "createdAt": vTime}, nil, 400, "InvalidRequest", "Invalid app.bsky.feed.post record: $.record.text: expected a string", ""},
		{"missing createdAt", map[string]any{"$type": "app.bsky.feed.post", "text": "hi"}, nil, 400, "InvalidRequest", `$.record: required field "createdAt" missing`, ""},
		{"too many graphemes", postRec(map[string]any{"text": strings.Repeat("é", 301)}), nil, 400, "InvalidRequest", "$.record.text: 301 graphemes", ""},
		{"bad datetime", postRec(map[string]any{"createdAt": "yesterday"}), nil, 400, "InvalidRequest", "$.record.createdAt: not a valid datetime", ""},
		{"bad at-uri", map[string]any{"$type": "app.bsky.feed.like", "createdAt": vTime, "subject": map[string]any{"uri": "https://x.example/p", "cid": vCID}}, nil, 400, "InvalidRequest", "$.record.subject.uri: not a valid at-uri", ""},
		{"bad cid", map[string]any{"$type": "app.bsky.feed.like", "createdAt": vTime, "subject": map[string]any{"uri": "at://" + u.did + "/app.bsky.feed.post/3k2la3uyghk2a", "cid": "nope"}}, nil, 400, "InvalidRequest", "$.record.subject.cid", ""},
		{"bad did", map[string]any{"$type": "app.bsky.graph.follow", "createdAt": vTime, "subject": "alice"}, nil, 400, "InvalidRequest", "$.record.subject: not a valid did", ""},
		{"closed-union-free open union member", postRec(map[string]any{"embed": map[string]any{"$type": "com.example.embed"}}), nil, 200, "valid", "", ""},
		{"union member without $type", postRec(map[string]any{"embed": map[string]any{"images": []any{}}}), nil, 400, "InvalidRequest", "$.record.embed: a union member must have a string $type", ""},
		{"non-record $type (a query): no record schema", map[string]any{"$type": "app.bsky.feed.getTimeline"}, nil, 200, "unknown", "", ""},
		{"non-record $type, validate true", map[string]any{"$type": "app.bsky.feed.getTimeline"}, &yes, 400, "InvalidRequest", "Unknown lexicon type: app.bsky.feed.getTimeline", ""},
		{"no $type: the collection's", map[string]any{"text": "hi", "createdAt": vTime}, nil, 200, "valid", "", "app.bsky.feed.post"},
		{"no $type, invalid for the collection", map[string]any{"text": 5, "createdAt": vTime}, nil, 400, "InvalidRequest", "$.record.text: expected a string", "app.bsky.feed.post"},
		{"$type not the collection", postRec(nil), nil, 400, "InvalidRequest", "Invalid $type: expected app.bsky.feed.like, got app.bsky.feed.post", "app.bsky.feed.like"},
		{"float", postRec(map[string]any{"n": 1.5}), nil, 400, "InvalidRequest", "Invalid record: $.record.n: floating point number", ""},
		{"avatar", profile(png), nil, 200, "valid", "", ""},
		{"blob not uploaded", profile(notUploaded), nil, 400, "BlobNotFound", "Could not find blob: bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy", ""},
		{"blob not uploaded, validate false", map[string]any{"$type": "com.example.pic", "img": notUploaded}, &no, 400, "BlobNotFound", "Could not find blob", ""},
		{"blob of a type the schema refuses", profile(gif), nil, 400, "InvalidRequest", "Invalid app.bsky.actor.profile record: $.record.avatar.mimeType: MIME type image/gif is not accepted", ""},
		{"blob declared of another type than stored", profile(withMime(gif, "image/png")), nil, 400, "InvalidMimeType", "does not match stored blob", ""},
		{"blob larger than the schema's maxSize", profile(big), nil, 400, "InvalidRequest", "$.record.avatar: 1000009 bytes, larger than the maximum 1000000", ""},
		{"blob declared of another size than stored", profile(withSize(png, 7)), nil, 400, "InvalidSize", "Referenced Size does not match stored blob. Expected: 108, Got: 7", ""},
		{"blob declared of another size, validate false", profile(withSize(png, 7)), &no, 400, "InvalidSize", "Expected: 108", ""},
		{"blob declared of another type, validate false", profile(withMime(gif, "image/png")), &no, 400, "InvalidMimeType", "does not match stored blob", ""},
		{"legacy blob reference", profile(map[string]any{"cid": png["ref"].(map[string]any)["$link"], "mimeType": "image/png"}), nil, 400, "InvalidRequest", "$.record.avatar: a legacy blob reference", ""},
		{"legacy blob reference, validate false", profile(map[string]any{"cid": png["ref"].(map[string]any)["$link"], "mimeType": "image/png"}), &no, 400, "InvalidRequest", "Legacy blobs are not allowed", ""},
		{"blob constraints not checked with validate false", profile(gif), &no, 200, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			coll := tc.collection
			if coll == "" {
				coll = tc.rec["$type"].(string)
			}
			body := map[string]any{"repo": u.did, "collection": coll, "record": tc.rec}
			if coll == "app.bsky.actor.profile" {
				body["rkey"] = "self"
				ts.proc("com.atproto.repo.deleteRecord", u.access, map[string]any{"repo": u.did, "collection": coll, "rkey": "self"})
			}
			if tc.validate != nil {
				body["validate"] = *tc.validate
			}
			r := ts.proc("com.atproto.repo.createRecord", u.access, body)
			m := r.json(t)
			if r.status != tc.status {
				t.Fatalf("status %s, want %d", r, tc.status)
			}
			if tc.status == 200 {
				got, has := m["validationStatus"]
				if (tc.want == "" && has) || (tc.want != "" && got != tc.want) {
					t.Fatalf("validationStatus %v (present %v), want %q", got, has, tc.want)
				}
				return
			}
			if m["error"] != tc.want || !strings.Contains(m["message"].(string), tc.msgHas) {
				t.Fatalf("answer %s, want %s with %q", r, tc.want, tc.msgHas)
			}
		})
	}
}

// TestPutAndApplyWritesAreValidated: putRecord and applyWrites validate as
// createRecord does; applyWrites gives each result its validationStatus
// and refuses the whole batch for one bad write.
func TestPutAndApplyWritesAreValidated(t *testing.T) {
	ts, u := startWithAlice(t)
	good := map[string]any{"$type": "app.bsky.feed.post", "text": "hi", "createdAt": vTime}
	bad := map[string]any{"$type": "app.bsky.feed.post", "text": "hi"}
	put := func(rec map[string]any) *resp {
		return ts.proc("com.atproto.repo.putRecord", u.access, map[string]any{"repo": u.did, "collection": "app.bsky.feed.post", "rkey": "3k2la3uyghk2a", "record": rec})
	}
	if m := ts.ok(put(good)); m["validationStatus"] != "valid" {
		t.Errorf("putRecord: %v", m)
	}
	if r := put(bad); r.status != 400 || !strings.Contains(r.json(t)["message"].(string), `$.record: required field "createdAt" missing`) {
		t.Errorf("putRecord of a bad record: %s", r)
	}
	create := func(rec map[string]any) map[string]any {
		return map[string]any{"$type": "com.atproto.repo.applyWrites#create", "collection": rec["$type"], "value": rec}
	}
	m := ts.ok(ts.proc("com.atproto.repo.applyWrites", u.access, map[string]any{"repo": u.did, "writes": []any{
		create(good), create(map[string]any{"$type": "com.example.thing"}),
	}}))
	res := m["results"].([]any)
	if res[0].(map[string]any)["validationStatus"] != "valid" || res[1].(map[string]any)["validationStatus"] != "unknown" {
		t.Errorf("applyWrites results %v", res)
	}
	r := ts.proc("com.atproto.repo.applyWrites", u.access, map[string]any{"repo": u.did, "writes": []any{create(good), create(bad)}})
	if r.status != 400 || !strings.Contains(r.json(t)["message"].(string), `Invalid app.bsky.feed.post record: $.writes[1].record: required field "createdAt" missing`) {
		t.Errorf("applyWrites with a bad write: %s", r)
	}
	r = ts.proc("com.atproto.repo.applyWrites", u.access, map[string]any{"repo": u.did, "validate": true, "writes": []any{create(map[string]any{"$type": "com.example.thing"})}})
	if r.status != 400 || !strings.Contains(string(r.body), "Unknown lexicon type") {
		t.Errorf("applyWrites validate true, unknown type: %s", r)
	}
}

// TestWriteRecordKeysFollowTheSchema: a validated record's key must be of
// its schema's key type (the reference's "Invalid record key for TYPE");
// an unknown type, or validate false, takes any key.
func TestWriteRecordKeysFollowTheSchema(t *testing.T) {
	ts, u := startWithAlice(t)
	no := false
	for _, tc := range []struct {
		collection, rkey string
		validate         *bool
		msg              string // "" when accepted
	}{
		{"app.bsky.actor.profile", "self", nil, ""},
		{"app.bsky.actor.profile", "other", nil, `Invalid record key for app.bsky.actor.profile: record key "other" is not "self" (key type literal:self)`},
		{"app.bsky.feed.post", "3k2la3uyghk2a", nil, ""},
		{"app.bsky.feed.post", "notatid", nil, `Invalid record key for app.bsky.feed.post: record key "notatid" is not a TID (key type tid)`},
		{"app.bsky.feed.post", "notatid", &no, ""},
		{"com.example.thing", "anything", nil, ""},
	} {
		rec := map[string]any{"$type": tc.collection, "text": "hi", "createdAt": vTime}
		body := map[string]any{"repo": u.did, "collection": tc.collection, "rkey": tc.rkey, "record": rec}
		if tc.validate != nil {
			body["validate"] = *tc.validate
		}
		r := ts.proc("com.atproto.repo.putRecord", u.access, body)
		if tc.msg == "" {
			if r.status != 200 {
				t.Errorf("%s/%s: %s", tc.collection, tc.rkey, r)
			}
			continue
		}
		if m := r.json(t); r.status != 400 || m["error"] != "InvalidRequest" || m["message"] != tc.msg {
			t.Errorf("%s/%s: %s, want 400 InvalidRequest %q", tc.collection, tc.rkey, r, tc.msg)
		}
	}
}
