package commands

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"

	gen "github.com/arbor-atproto/arbor/build/hostile"
	"github.com/arbor-atproto/arbor/firehose"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

func deepChain(t *testing.T, k atcrypto.PrivateKey, did string, depth int) *gen.Repo {
	t.Helper()
	r, err := gen.DeepChain(k, syntax.DID(did), depth)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// rewrite of a repository whose tree is a chain of entry-less nodes far
// deeper than any layer (150,000 levels, correct hashes, a genuine
// signature) fails verification at once: exit 1, nothing written.
func TestRewriteRefusesADeepChain(t *testing.T) {
	in := writeTemp(t, deepChain(t, testfixtures.NewKey(t, false), "did:plc:abcdefghijklmnopqrstuvwx", 150_000).CAR)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.car")
	wantOneLineError(t, run(t, "", "rewrite", in, "-o", out), ExitFail, "fails verification")
	if l := leftovers(t, dir); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
}

// fetch of a repository whose tree is a 150,000-level chain, served by a
// loopback PDS and signed with the key of the DID document: verification
// fails at once, exit 1, no file left.
func TestFetchRefusesADeepChain(t *testing.T) {
	k := testfixtures.NewKey(t, false)
	pub, _ := k.PublicKey()
	w := newNetWorld(t, pub.DIDKey())
	w.pds.Repos[w.did] = deepChain(t, k, w.did, 150_000).CAR
	dir := t.TempDir()
	r := run(t, "", w.args("fetch", w.did, "-o", filepath.Join(dir, "out.car"))...)
	wantOneLineError(t, r, ExitFail, "failed verification")
	if l := leftovers(t, dir); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
}

// firehose --verify of a #commit whose blocks hold a chain of entry-less
// nodes far deeper than any layer, signed with the account's key: the
// commit fails (exit 1), whether the chain fits in the protocol's limit on
// blocks (20,000 levels: the tree check fails) or not (150,000 levels,
// 12 MB: refused unread).
func TestFirehoseVerifyRefusesADeepChain(t *testing.T) {
	k := testfixtures.NewKey(t, false)
	did, doc := plcIdentity(t, k, "deep.test")
	dir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/"+did {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/did+ld+json")
		json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(dir.Close)
	for _, tc := range []struct {
		depth int
		want  string
	}{
		{20_000, "not reflected in the new tree"},
		{150_000, "limit of 2000000"},
	} {
		r := deepChain(t, k, did, tc.depth)
		var ops []firehose.RepoOp
		for path, c := range r.Records {
			ops = append(ops, firehose.RepoOp{Action: firehose.ActionCreate, Path: path, CID: c})
		}
		frame := encodeFH(t, &firehose.Commit{Seq: 1, Repo: syntax.DID(did), Commit: r.Commit, Rev: syntax.TID(r.Rev), Blocks: r.CAR, Ops: ops, Time: "2025-01-01T00:00:00.000Z"})
		srv, _ := serveFirehose(t, frame)
		res := run(t, "", "firehose", wsURL(srv), "--verify", "--plc-host", dir.URL)
		if res.code != ExitFail || strings.Count(res.stdout, "FAIL ") != 1 || !strings.Contains(res.stdout, tc.want) {
			t.Errorf("%d levels: exit %d, want %d with one FAIL saying %q; stderr %q\n%.2000s", tc.depth, res.code, ExitFail, tc.want, res.stderr, res.stdout)
		}
	}
}
