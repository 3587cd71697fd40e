package commands

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/identity/identitytest"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/plc"
	"github.com/bluesky-social/indigo/atproto/atcrypto"
)

// netWorld is a loopback network for resolve/fetch/verify --resolve: a DNS
// server, a did:plc directory and a PDS serving the golden repository
// "one" (did:plc:arborgoldenrepok256test2).
type netWorld struct {
	dns     string
	dir     *identitytest.Directory
	pds     *identitytest.PDS
	did     string
	carPath string
	rotKey  string
}

type fetchGolden struct {
	DID        string `json:"did"`
	SigningKey string `json:"signingKey"`
	Rev        string `json:"rev"`
}

func readGolden(t *testing.T, name string) (fetchGolden, []byte, string) {
	t.Helper()
	path := filepath.Join("..", "golden", "repos", name+".car")
	var g fetchGolden
	b, err := os.ReadFile(filepath.Join("..", "golden", "repos", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	car, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return g, car, path
}

func genKey(t *testing.T) atcrypto.PublicKey {
	t.Helper()
	return testfixtures.PublicKey(t, testfixtures.NewKey(t, false))
}

// newNetWorld registers the golden repository's DID with signingKey ("" for
// the golden key, which signed the repository) and handle one.test.
func newNetWorld(t *testing.T, signingKey string) *netWorld {
	t.Helper()
	g, car, path := readGolden(t, "one")
	if signingKey == "" {
		signingKey = g.SigningKey
	}
	w := &netWorld{dir: identitytest.StartDirectory(t), did: g.DID, carPath: path}
	w.pds = identitytest.StartPDS(t, &identitytest.PDS{
		Repos:    map[string][]byte{g.DID: car},
		Slices:   map[string]map[string][]byte{g.DID: {}},
		Blobs:    map[string]map[string][]byte{g.DID: {}},
		BlobList: map[string][]string{},
		PageSize: 2,
	})
	rot := testfixtures.NewKey(t, false)
	rotPub, _ := rot.PublicKey()
	w.rotKey = rotPub.DIDKey()
	op, _, err := plc.NewGenesis(plc.GenesisParams{
		RotationKeys: []string{w.rotKey}, SigningKey: signingKey, Handle: "one.test", PDS: w.pds.URL(),
	}, rot)
	if err != nil {
		t.Fatal(err)
	}
	// The golden DID is not the hash of this genesis: the directory here
	// serves documents, it does not validate logs.
	w.dir.Add(g.DID, op)
	w.dns = identitytest.StartDNS(t, map[string][]string{
		"_atproto.one.test":      {"did=" + g.DID},
		"_atproto.mismatch.test": {"did=" + g.DID},
	})
	return w
}

// args appends the network flags pointing at w.
func (w *netWorld) args(a ...string) []string {
	return append(a, "--plc-host", w.dir.URL(), "--dns", w.dns, "--timeout", "5s")
}

func TestResolvePrintsVerifiedIdentity(t *testing.T) {
	w := newNetWorld(t, "")
	g, _, _ := readGolden(t, "one")
	for _, input := range []string{"one.test", g.DID} {
		t.Run(input, func(t *testing.T) {
			var j struct {
				DID, Handle, HandleMethod, PDS, SigningKey string
				HandleVerified                             bool
				RotationKeys                               []string
				Document                                   map[string]any
			}
			r := runJSON(t, &j, w.args("resolve", input, "--json")...)
			if r.code != 0 || j.DID != g.DID || j.Handle != "one.test" || !j.HandleVerified || j.HandleMethod != "dns" ||
				j.PDS != w.pds.URL() || j.SigningKey != g.SigningKey || len(j.RotationKeys) != 1 || j.RotationKeys[0] != w.rotKey || j.Document["id"] != g.DID {
				t.Errorf("exit %d, %+v (stderr %q)", r.code, j, r.stderr)
			}
			r = run(t, "", w.args("resolve", input)...)
			for _, want := range []string{g.DID, "one.test", "verified both ways", w.pds.URL(), g.SigningKey, w.rotKey} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("human output lacks %q:\n%s", want, r.stdout)
				}
			}
		})
	}
}

func TestResolveFailures(t *testing.T) {
	w := newNetWorld(t, "")
	w.dir.AddRaw("did:plc:bbbbbbbbbbbbbbbbbbbbbbbb", `{"id":"did:plc:bbbbbbbbbbbbbbbbbbbbbbbb","alsoKnownAs":[],"verificationMethod":[],"service":[]}`)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"handle whose DID claims another handle", w.args("resolve", "mismatch.test"), ExitFail, "handle mismatch"},
		{"handle with no TXT record and no HTTPS host", w.args("resolve", "nobody.test"), ExitUsage, "no _atproto TXT record"},
		{"document with no atproto key", w.args("resolve", "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb"), ExitFail, "no atproto signing key"},
		{"document over the size limit", w.args("resolve", w.did, "--max-doc-size", "100"), ExitUsage, "over the size limit"},
		{"unregistered DID", w.args("resolve", "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"), ExitUsage, "DID not found"},
		{"malformed handle", w.args("resolve", "jo_hn.test"), ExitUsage, "invalid handle"},
		{"no argument", w.args("resolve"), ExitUsage, "usage: arbor resolve"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantOneLineError(t, run(t, "", tc.args...), tc.code, tc.want)
		})
	}
}

func TestResolveRefusesSyntaxVectors(t *testing.T) {
	w := newNetWorld(t, "")
	for _, file := range []string{"handle_syntax_invalid.txt", "did_syntax_invalid.txt"} {
		b, err := os.ReadFile(filepath.Join(shared, "interop", "syntax", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range strings.Split(string(b), "\n") {
			if v == "" || strings.HasPrefix(v, "#") || strings.TrimSpace(v) != v {
				continue
			}
			// did_syntax_invalid.txt has strings that are valid handles
			// (did.method.val): those are not DIDs to refuse.
			if file == "did_syntax_invalid.txt" && !strings.HasPrefix(v, "did:") {
				continue
			}
			r := run(t, "", append(w.args("resolve"), "--", v)...)
			if r.code != ExitUsage || strings.Count(r.stderr, "\n") != 1 ||
				!(strings.Contains(r.stderr, "invalid handle") || strings.Contains(r.stderr, "invalid DID")) {
				t.Errorf("resolve %q: exit %d, stderr %q", v, r.code, r.stderr)
			}
		}
	}
}

func TestVerifyResolve(t *testing.T) {
	good := newNetWorld(t, "")
	other := newNetWorld(t, genKey(t).DIDKey())
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"key from the resolved document", good.args("verify", good.carPath, "--resolve"), ExitOK, "signature checked"},
		{"document names another key", other.args("verify", other.carPath, "--resolve"), ExitFail, "INVALID"},
		{"--resolve with --key", good.args("verify", good.carPath, "--resolve", "--key", genKey(t).DIDKey()), ExitUsage, "not two"},
		{"DID not in the directory", append(good.args("verify", good.carPath, "--resolve"), "--plc-host", identitytest.StartDirectory(t).URL()), ExitUsage, "DID not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, "", tc.args...)
			if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.want) {
				t.Errorf("exit %d, want %d; output %q %q lacks %q", r.code, tc.code, r.stdout, r.stderr, tc.want)
			}
		})
	}
}
