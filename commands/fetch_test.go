package commands

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/identity/identitytest"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/plc"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

func blobCID(t *testing.T, b []byte) string {
	t.Helper()
	mh, err := multihash.Sum(b, multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return cid.NewCidV1(cid.Raw, mh).String()
}

// commitOnlySlice is a getRepo?since= answer holding the commit block
// alone (a slice where nothing but the commit is new).
func commitOnlySlice(t *testing.T, whole []byte) []byte {
	t.Helper()
	roots, blocks, err := car.ReadAll(bytes.NewReader(whole))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	cw, err := car.NewWriter(&buf, roots[:1])
	if err != nil {
		t.Fatal(err)
	}
	if err := cw.Put(roots[0], blocks[roots[0]]); err != nil {
		t.Fatal(err)
	}
	if err := cw.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// leftovers lists the files in dir other than keep.
func leftovers(t *testing.T, dir string, keep ...string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
next:
	for _, e := range ents {
		for _, k := range keep {
			if e.Name() == k {
				continue next
			}
		}
		out = append(out, e.Name())
	}
	return out
}

func TestFetchVerifiesAndKeepsTheRepository(t *testing.T) {
	w := newNetWorld(t, "")
	g, whole, _ := readGolden(t, "one")
	w.pds.Slices[g.DID][g.Rev] = commitOnlySlice(t, whole)

	for _, input := range []string{"one.test", g.DID} {
		t.Run("whole repository from "+input, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "one.car")
			var j struct {
				DID, File string
				Bytes     int64
				Records   int
				Slice     bool
				Checked   []string
			}
			r := runJSON(t, &j, w.args("fetch", input, "-o", out, "--json")...)
			if r.code != 0 || j.DID != g.DID || j.Bytes != int64(len(whole)) || j.Records != 1 || j.Slice {
				t.Fatalf("exit %d, %+v, stderr %q", r.code, j, r.stderr)
			}
			got, err := os.ReadFile(out)
			if err != nil || !bytes.Equal(got, whole) {
				t.Fatalf("file differs from what the PDS served (%v)", err)
			}
			if l := leftovers(t, dir, "one.car"); len(l) > 0 {
				t.Errorf("left behind: %v", l)
			}
			if !strings.Contains(strings.Join(j.Checked, ","), "signature against "+g.SigningKey) {
				t.Errorf("checked %v", j.Checked)
			}
		})
	}
	t.Run("slice since a revision says what it checked", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "slice.car")
		r := run(t, "", w.args("fetch", "one.test", "-o", out, "--since", g.Rev)...)
		if r.code != 0 || !strings.Contains(r.stdout, "slice since "+g.Rev) || !strings.Contains(r.stdout, "not checked: MST and records") ||
			!strings.Contains(r.stdout, "commit signature against "+g.SigningKey) {
			t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		if _, err := os.Stat(out); err != nil {
			t.Error(err)
		}
	})
}

func TestFetchBlobsSkipsAndReportsFailures(t *testing.T) {
	w := newNetWorld(t, "")
	var good []string
	for i := range 3 {
		b := []byte(fmt.Sprintf("image %d", i))
		c := blobCID(t, b)
		good = append(good, c)
		w.pds.Blobs[w.did][c] = b
	}
	bad := blobCID(t, []byte("the real bytes"))
	w.pds.Blobs[w.did][bad] = []byte("other bytes")
	missing := blobCID(t, []byte("never uploaded"))
	w.pds.BlobList[w.did] = []string{good[0], bad, good[1], missing, good[2]}

	dir := t.TempDir()
	out, blobs := filepath.Join(dir, "one.car"), filepath.Join(dir, "blobs")
	var j struct {
		Blobs        int
		BlobFailures []struct{ CID, Error string }
	}
	r := runJSON(t, &j, w.args("fetch", w.did, "-o", out, "--blobs", blobs, "--json")...)
	if r.code != ExitFail || j.Blobs != 5 || len(j.BlobFailures) != 2 ||
		j.BlobFailures[0].CID != bad || !strings.Contains(j.BlobFailures[0].Error, "does not match") ||
		j.BlobFailures[1].CID != missing || !strings.Contains(j.BlobFailures[1].Error, "BlobNotFound") {
		t.Fatalf("exit %d, %+v, stderr %q", r.code, j, r.stderr)
	}
	if !strings.Contains(r.stderr, "2 of 5 blobs failed") {
		t.Errorf("stderr %q", r.stderr)
	}
	for i, c := range good {
		b, err := os.ReadFile(filepath.Join(blobs, c))
		if err != nil || string(b) != fmt.Sprintf("image %d", i) {
			t.Errorf("blob %s: %q, %v", c, b, err)
		}
	}
	if l := leftovers(t, blobs, good...); len(l) > 0 {
		t.Errorf("blob directory holds %v besides the good blobs", l)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("the verified repository should be kept when blobs fail: %v", err)
	}
}

func TestFetchFailuresLeaveNoFile(t *testing.T) {
	other := newNetWorld(t, genKey(t).DIDKey())
	good := newNetWorld(t, "")

	// A DID whose document names a PDS that is not listening.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	down := identitytest.StartDirectory(t)
	rot := testfixtures.NewKey(t, false)
	rotPub, _ := rot.PublicKey()
	op, _, err := plc.NewGenesis(plc.GenesisParams{RotationKeys: []string{rotPub.DIDKey()}, SigningKey: genKey(t).DIDKey(), Handle: "down.test", PDS: closed}, rot)
	if err != nil {
		t.Fatal(err)
	}
	down.Add(good.did, op)

	// A PDS serving garbage for the repository.
	junk := newNetWorld(t, "")
	junk.pds.Repos[junk.did] = []byte("this is not a CAR file")

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"repository signed by another key", other.args("fetch", "one.test"), ExitFail, "failed verification"},
		{"handle whose DID claims another handle", good.args("fetch", "mismatch.test"), ExitFail, "handle mismatch"},
		{"unreachable PDS", append(good.args("fetch", good.did), "--plc-host", down.URL()), ExitUsage, "PDS unreachable"},
		{"PDS answers with something that is not a CAR", junk.args("fetch", junk.did), ExitFail, "fetched repository"},
		{"slice the PDS does not have", good.args("fetch", good.did, "--since", "3ktt5626c222b"), ExitUsage, "RepoNotFound"},
		{"no TXT record", good.args("fetch", "nobody.test"), ExitUsage, "no _atproto TXT record"},
		{"bad --since", good.args("fetch", good.did, "--since", "yesterday"), ExitUsage, "--since"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out.car")
			r := run(t, "", append(tc.args, "-o", out)...)
			wantOneLineError(t, r, tc.code, tc.want)
			if l := leftovers(t, dir); len(l) > 0 {
				t.Errorf("left behind: %v", l)
			}
		})
	}
	t.Run("no -o", func(t *testing.T) {
		wantOneLineError(t, run(t, "", good.args("fetch", good.did)...), ExitUsage, "-o is required")
	})
}

// TestFetchFromArborPDS fetches an account end to end from arbor's own
// local PDS (pds.Server on loopback, with its embedded did:plc directory):
// the handle through a loopback DNS server, the DID document from the
// embedded directory, getRepo, listBlobs and getBlob from the server.
func TestFetchFromArborPDS(t *testing.T) {
	ts, srv := openLocalPDS(t)

	call := func(method, token, ctype string, body []byte, out any) {
		t.Helper()
		xrpcPost(t, ts.URL, method, token, ctype, body, out)
	}
	var acct struct{ DID, AccessJwt string }
	call("com.atproto.server.createAccount", "", "application/json", []byte(`{"handle":"alice.test","password":"hunter2hunter2","email":"alice@example.com"}`), &acct)
	var blobs []string
	for i := range 3 {
		b := []byte(fmt.Sprintf("blob number %d", i))
		// Uploaded as the type the record declares (the PDS, like the
		// reference, refuses a reference of another type than stored).
		call("com.atproto.repo.uploadBlob", acct.AccessJwt, "image/png", b, nil)
		blobs = append(blobs, blobCID(t, b))
	}
	rec := fmt.Sprintf(`{"repo":%q,"collection":"app.bsky.feed.post","record":{"$type":"app.bsky.feed.post","text":"hi","createdAt":"2024-01-01T00:00:00.000Z","embed":{"$type":"app.bsky.embed.images","images":[`, acct.DID)
	for i, c := range blobs {
		if i > 0 {
			rec += ","
		}
		rec += fmt.Sprintf(`{"alt":"","image":{"$type":"blob","ref":{"$link":%q},"mimeType":"image/png","size":13}}`, c)
	}
	rec += `]}}}`
	var created struct{ URI, CID string }
	call("com.atproto.repo.createRecord", acct.AccessJwt, "application/json", []byte(rec), &created)

	dns := identitytest.StartDNS(t, map[string][]string{"_atproto.alice.test": {"did=" + acct.DID}})
	dir := t.TempDir()
	out, blobDir := filepath.Join(dir, "alice.car"), filepath.Join(dir, "blobs")
	var j struct {
		DID            string
		HandleVerified bool
		Records, Blobs int
		BlobFailures   []any
	}
	r := runJSON(t, &j, "fetch", "alice.test", "-o", out, "--blobs", blobDir, "--json", "--plc-host", srv.PLCURL(), "--dns", dns, "--timeout", "5s")
	if r.code != 0 || j.DID != acct.DID || !j.HandleVerified || j.Records < 1 || j.Blobs != len(blobs) || len(j.BlobFailures) != 0 {
		t.Fatalf("exit %d, %+v, stderr %q", r.code, j, r.stderr)
	}
	for _, c := range blobs {
		if _, err := os.Stat(filepath.Join(blobDir, c)); err != nil {
			t.Error(err)
		}
	}
	// The file kept verifies on its own against the resolved key.
	v := run(t, "", "verify", out, "--resolve", "--plc-host", srv.PLCURL(), "--dns", dns)
	if v.code != 0 || !strings.Contains(v.stdout, "signature checked") {
		t.Errorf("verify --resolve: exit %d, %q %q", v.code, v.stdout, v.stderr)
	}

	// The PDS's record proofs (sync.getRecord) verify as proofs: of the
	// record, with its CID, and of the absence of another key.
	rkey := created.URI[strings.LastIndex(created.URI, "/")+1:]
	for _, tc := range []struct{ rkey, want string }{
		{rkey, "proves app.bsky.feed.post/" + rkey + " = " + created.CID},
		{"3zzzzzzzzzzzz", "proves there is no record app.bsky.feed.post/3zzzzzzzzzzzz"},
	} {
		res, err := http.Get(ts.URL + "/xrpc/com.atproto.sync.getRecord?did=" + acct.DID + "&collection=app.bsky.feed.post&rkey=" + tc.rkey)
		if err != nil {
			t.Fatal(err)
		}
		proofCAR, _ := io.ReadAll(res.Body)
		res.Body.Close()
		pf := filepath.Join(dir, tc.rkey+".car")
		os.WriteFile(pf, proofCAR, 0o644)
		p := run(t, "", "verify", "--record", "app.bsky.feed.post/"+tc.rkey, pf, "--resolve", "--plc-host", srv.PLCURL(), "--dns", dns)
		if p.code != 0 || !strings.Contains(p.stdout, tc.want) || !strings.Contains(p.stdout, "signature checked") {
			t.Errorf("verify --record %s: exit %d, %q %q", tc.rkey, p.code, p.stdout, p.stderr)
		}
		// As a whole repository, the proof of absence lacks the record
		// the repository does hold.
		if whole := run(t, "", "verify", pf); tc.rkey != rkey && whole.code != ExitFail {
			t.Errorf("verify of the proof of absence as a repository: exit %d", whole.code)
		}
	}
}
