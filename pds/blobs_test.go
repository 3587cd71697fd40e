package pds

import (
	"bytes"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

func osReadDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, err
}

func TestUploadBlobThenGetBlob(t *testing.T) {
	ts, u := startWithAlice(t)
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 3000)...)
	for _, tc := range []struct {
		name, ctype, wantType string
		data                  []byte
	}{
		{"declared type", "image/jpeg", "image/jpeg", []byte("jpeg-ish bytes")},
		{"sniffed type", "", "image/png", png},
		{"empty blob", "text/plain", "text/plain", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.ctype != "" {
				h["Content-Type"] = tc.ctype
			}
			out := ts.ok(ts.do(http.MethodPost, "/xrpc/com.atproto.repo.uploadBlob", u.access, bytes.NewReader(tc.data), h))
			blob := out["blob"].(map[string]any)
			want, _ := cid.Prefix{Version: 1, Codec: cid.Raw, MhType: multihash.SHA2_256, MhLength: -1}.Sum(tc.data)
			link := blob["ref"].(map[string]any)["$link"]
			if blob["$type"] != "blob" || link != want.String() || blob["mimeType"] != tc.wantType || blob["size"] != float64(len(tc.data)) {
				t.Fatalf("uploadBlob answered %v, want CID %s", blob, want)
			}
			r := ts.query("com.atproto.sync.getBlob", "", "did", u.did, "cid", want.String())
			if r.status != 200 || !bytes.Equal(r.body, tc.data) || r.header.Get("Content-Type") != tc.wantType || r.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("getBlob: %d %q %v", r.status, r.header.Get("Content-Type"), len(r.body))
			}
			// A record can refer to it (a type with no schema: only the
			// blob's presence is checked).
			ts.createRecord(u, "", map[string]any{"$type": "com.example.pic", "text": "pic", "embed": map[string]any{"image": blob}})
		})
	}
	list := ts.ok(ts.query("com.atproto.sync.listBlobs", "", "did", u.did))
	if n := len(list["cids"].([]any)); n != 3 {
		t.Fatalf("listBlobs: %v", list)
	}
	// Another account's upload is not served under this DID.
	bob := ts.createUser("bob")
	out := ts.ok(ts.do(http.MethodPost, "/xrpc/com.atproto.repo.uploadBlob", bob.access, []byte("bob's"), nil))
	bobCID := out["blob"].(map[string]any)["ref"].(map[string]any)["$link"].(string)
	if r := ts.query("com.atproto.sync.getBlob", "", "did", u.did, "cid", bobCID); r.status != 400 || r.errName() != "BlobNotFound" {
		t.Fatalf("bob's blob under alice: %s", r)
	}
	if r := ts.do(http.MethodPost, "/xrpc/com.atproto.repo.uploadBlob", "", []byte("x"), nil); r.status != 401 {
		t.Fatalf("upload without a token: %s", r)
	}
}

func TestPathTraversalIsImpossible(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, Config{DataDir: dir})
	u := ts.createUser("alice")
	ts.ok(ts.do(http.MethodPost, "/xrpc/com.atproto.repo.uploadBlob", u.access, []byte("secret blob"), nil))
	os.WriteFile(dir+"/outside", []byte("not a blob"), 0o600)
	for _, name := range []string{"../pds.sqlite", "../outside", "..%2Foutside", "/etc/passwd", ".", "..", "bafkreiaaa/../../outside",
		// A valid CID of another codec than raw: a dag-cbor CID is never a blob.
		"bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"} {
		t.Run(name, func(t *testing.T) {
			r := ts.query("com.atproto.sync.getBlob", "", "did", u.did, "cid", name)
			if r.status != 400 || strings.Contains(string(r.body), "not a blob") || strings.Contains(string(r.body), "SQLite") {
				t.Fatalf("getBlob %q: %s", name, r)
			}
		})
	}
	for _, rkey := range []string{"..", ".", "../../x", "a/../b", "%2e%2e"} {
		r := ts.proc("com.atproto.repo.putRecord", u.access, map[string]any{"repo": u.did, "collection": "app.bsky.feed.post", "rkey": rkey, "record": post("x")})
		if r.status != 400 || r.errName() != "InvalidRequest" {
			t.Fatalf("putRecord rkey %q: %s", rkey, r)
		}
	}
	// Blob files carry only CID names.
	names, err := osReadDir(ts.srv.blobs.dir)
	if err != nil || len(names) != 1 {
		t.Fatalf("blob directory: %v %v", names, err)
	}
	if c, err := cid.Decode(names[0]); err != nil || c.String() != names[0] {
		t.Fatalf("blob file %q is not named by its CID", names[0])
	}
}
