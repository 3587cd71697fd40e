package identity_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arbor-atproto/arbor/identity"
	"github.com/arbor-atproto/arbor/identity/identitytest"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/plc"
	"github.com/bluesky-social/indigo/atproto/atcrypto"
)

// world is a small loopback internet: DNS, HTTPS hosts, a did:plc
// directory, and a resolver wired to them.
type world struct {
	dns  string
	web  *identitytest.Web
	dir  *identitytest.Directory
	res  *identity.Resolver
	keys map[string]atcrypto.PrivateKey // DID → signing key
	rot  map[string]string              // DID → rotation did:key
}

// addPLC registers a new did:plc claiming handle (may be "") with a PDS.
func (w *world) addPLC(t *testing.T, handle, pds string) string {
	t.Helper()
	sig, rot := testfixtures.NewKey(t, false), testfixtures.NewKey(t, false)
	op, genesisDID, err := plc.NewGenesis(plc.GenesisParams{
		RotationKeys: []string{testfixtures.PublicKey(t, rot).DIDKey()},
		SigningKey:   testfixtures.PublicKey(t, sig).DIDKey(),
		Handle:       handle,
		PDS:          pds,
	}, rot)
	if err != nil {
		t.Fatal(err)
	}
	did := genesisDID.String()
	if handle == "" {
		op.AlsoKnownAs = nil
	}
	w.dir.Add(did, op)
	w.keys[did] = sig
	w.rot[did] = testfixtures.PublicKey(t, rot).DIDKey()
	return did
}

func webDoc(did, handle, pds, key string) string {
	return fmt.Sprintf(`{"@context":["https://www.w3.org/ns/did/v1"],"id":%q,"alsoKnownAs":["at://%s"],`+
		`"verificationMethod":[{"id":"%s#atproto","type":"Multikey","controller":%q,"publicKeyMultibase":%q}],`+
		`"service":[{"id":"#atproto_pds","type":"AtprotoPersonalDataServer","serviceEndpoint":%q}]}`,
		did, handle, did, did, key, pds)
}

// newWorld sets up:
//
//	alice.test  TXT → did:plc A, A claims alice.test          (verified, dns)
//	bob.test    well-known → did:plc B, B claims bob.test      (verified, https)
//	carol.test  TXT → A (A claims alice.test)                  (mismatch)
//	dan.test    TXT → did:plc D, D claims erin.test; erin.test does not resolve
//	two.test    two different did= TXT values
//	bad.test    TXT did=did:plc:nope
//	fail.test   SERVFAIL, well-known → B... B claims bob.test  (mismatch, https)
//	did:web:web.test          host form, claims web.test (well-known → itself)
//	did:web:web.test:u:frank  path form, claims frank.test (no resolution)
func newWorld(t *testing.T) (*world, map[string]string) {
	w := &world{web: identitytest.StartWeb(t), dir: identitytest.StartDirectory(t), keys: map[string]atcrypto.PrivateKey{}, rot: map[string]string{}}
	ids := map[string]string{}
	ids["A"] = w.addPLC(t, "alice.test", "https://pds.alice.test")
	ids["B"] = w.addPLC(t, "bob.test", "https://pds.bob.test")
	ids["D"] = w.addPLC(t, "erin.test", "https://pds.dan.test")
	w.web.Page("bob.test", "/.well-known/atproto-did", "text/plain", ids["B"]+"\n")
	w.web.Page("fail.test", "/.well-known/atproto-did", "text/plain", ids["B"])

	webKey := testfixtures.NewKey(t, false)
	w.keys["did:web:web.test"] = webKey
	w.web.Page("web.test", "/.well-known/did.json", "application/json", webDoc("did:web:web.test", "web.test", "https://pds.web.test", testfixtures.PublicKey(t, webKey).Multibase()))
	w.web.Page("web.test", "/.well-known/atproto-did", "text/plain", "did:web:web.test")
	frankKey := testfixtures.NewKey(t, false)
	w.keys["did:web:web.test:u:frank"] = frankKey
	w.web.Page("web.test", "/u/frank/did.json", "application/json", webDoc("did:web:web.test:u:frank", "frank.test", "https://pds.web.test", testfixtures.PublicKey(t, frankKey).Multibase()))

	w.dns = identitytest.StartDNS(t, map[string][]string{
		"_atproto.alice.test": {"v=spf1 -all", "did=" + ids["A"]},
		"_atproto.carol.test": {"did=" + ids["A"]},
		"_atproto.dan.test":   {"did=" + ids["D"]},
		"_atproto.two.test":   {"did=" + ids["A"], "did=" + ids["B"]},
		"_atproto.bad.test":   {"did=did:plc:nope"},
	}, "_atproto.fail.test")
	w.res = &identity.Resolver{PLCHost: w.dir.URL(), HTTPClient: w.web.Client(), DNSAddr: w.dns, Timeout: 5 * time.Second}
	return w, ids
}

func TestLookupVerifiesHandleBothWays(t *testing.T) {
	w, ids := newWorld(t)
	tests := []struct {
		name, input  string
		did, handle  string
		method       string
		verified     bool
		handleErr    error
		rotationKeys bool
	}{
		{"handle by DNS", "alice.test", ids["A"], "alice.test", identity.MethodDNS, true, nil, true},
		{"handle in upper case and with @", "@ALICE.test", ids["A"], "alice.test", identity.MethodDNS, true, nil, true},
		{"handle by HTTPS well-known", "bob.test", ids["B"], "bob.test", identity.MethodHTTPS, true, nil, true},
		{"DID to its handle and back", ids["A"], ids["A"], "alice.test", identity.MethodDNS, true, nil, true},
		{"DID whose handle resolves by HTTPS", ids["B"], ids["B"], "bob.test", identity.MethodHTTPS, true, nil, true},
		{"handle pointing at a DID that claims another handle", "carol.test", ids["A"], "carol.test", identity.MethodDNS, false, identity.ErrHandleMismatch, true},
		{"DID claiming a handle that does not resolve", ids["D"], ids["D"], "erin.test", "", false, identity.ErrHandleMismatch, true},
		{"DNS failure falls back to HTTPS", "fail.test", ids["B"], "fail.test", identity.MethodHTTPS, false, identity.ErrHandleMismatch, true},
		{"did:web host form", "did:web:web.test", "did:web:web.test", "web.test", identity.MethodHTTPS, true, nil, false},
		{"did:web path form", "did:web:web.test:u:frank", "did:web:web.test:u:frank", "frank.test", "", false, identity.ErrHandleMismatch, false},
		{"handle to did:web", "web.test", "did:web:web.test", "web.test", identity.MethodHTTPS, true, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := w.res.Lookup(context.Background(), tc.input)
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			if id.DID.String() != tc.did || id.Handle.String() != tc.handle || id.HandleMethod != tc.method || id.HandleVerified != tc.verified {
				t.Errorf("got did %s handle %s method %q verified %v; want %s %s %q %v (handle error: %v)",
					id.DID, id.Handle, id.HandleMethod, id.HandleVerified, tc.did, tc.handle, tc.method, tc.verified, id.HandleErr)
			}
			if tc.handleErr == nil && id.HandleErr != nil {
				t.Errorf("handle error %v", id.HandleErr)
			}
			if tc.handleErr != nil && !errors.Is(id.HandleErr, tc.handleErr) {
				t.Errorf("handle error %v, want %v", id.HandleErr, tc.handleErr)
			}
			if id.Doc.SigningKey == nil || !id.Doc.SigningKey.Equal(testfixtures.PublicKey(t, w.keys[tc.did])) {
				t.Errorf("signing key %v, want the key of %s", id.Doc.SigningKey, tc.did)
			}
			if id.Doc.PDS == "" {
				t.Errorf("no PDS: %v", id.Doc.PDSErr)
			}
			if tc.rotationKeys != (len(id.RotationKeys) == 1 && id.RotationKeys[0] == w.rot[tc.did]) {
				t.Errorf("rotation keys %v, want %q", id.RotationKeys, w.rot[tc.did])
			}
		})
	}
}

func TestLookupFailuresAreTyped(t *testing.T) {
	w, ids := newWorld(t)
	w.dir.Tombstone(ids["D"])
	unregistered := "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"
	w.dir.AddRaw("did:plc:bbbbbbbbbbbbbbbbbbbbbbbb", `{"id":"did:plc:cccccccccccccccccccccccc"}`)
	w.dir.AddRaw("did:plc:dddddddddddddddddddddddd", `{"id": "did:plc:dddddddddddddddddddddddd"`)
	w.web.Page("big.test", "/.well-known/did.json", "application/json", `{"id":"did:web:big.test","pad":"`+strings.Repeat("x", 1500)+`"}`)
	w.web.Page("huge.test", "/.well-known/did.json", "application/json", `{"id":"did:web:huge.test","pad":"`+strings.Repeat("x", 100000)+`"}`)
	w.web.Page("longid.test", "/.well-known/atproto-did", "text/plain", strings.Repeat("did:plc:", 1000))
	w.web.Page("junk.test", "/.well-known/atproto-did", "text/plain", "<html>not a did</html>")
	small := *w.res
	small.MaxDocSize = 1024

	tests := []struct {
		name  string
		res   *identity.Resolver
		input string
		want  []error
	}{
		{"no TXT record and no well-known", w.res, "nobody.test", []error{identity.ErrHandleNotFound, identity.ErrNoTXTRecord, identity.ErrWellKnown}},
		{"several did= TXT values", w.res, "two.test", []error{identity.ErrAmbiguousTXT}},
		{"TXT record with an invalid DID", w.res, "bad.test", []error{identity.ErrInvalidDID}},
		{"well-known answer that is not a DID", w.res, "junk.test", []error{identity.ErrHandleNotFound, identity.ErrWellKnown, identity.ErrInvalidDID}},
		{"well-known answer too long for a DID", w.res, "longid.test", []error{identity.ErrWellKnown, identity.ErrDocumentTooLarge}},
		{"unregistered did:plc", w.res, unregistered, []error{identity.ErrDIDNotFound}},
		{"tombstoned did:plc", w.res, ids["D"], []error{identity.ErrDIDDeactivated}},
		{"document for another DID", w.res, "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb", []error{identity.ErrInvalidDocument}},
		{"document that is not JSON", w.res, "did:plc:dddddddddddddddddddddddd", []error{identity.ErrInvalidDocument}},
		{"document over the limit by Content-Length", &small, "did:web:big.test", []error{identity.ErrDocumentTooLarge}},
		{"document over the limit while reading", &small, "did:web:huge.test", []error{identity.ErrDocumentTooLarge}},
		{"did:web host with no document", w.res, "did:web:nowhere.test", []error{identity.ErrDIDNotFound}},
		{"unsupported DID method", w.res, "did:key:zQ3shkdSaTgK495CNupGfy5xvvK3hg6hhT87QkHvcctK7tCKB", []error{identity.ErrUnsupportedDID}},
		{"did:plc with a bad identifier", w.res, "did:plc:ABC", []error{identity.ErrInvalidDID}},
		{"did:web with a path traversal", w.res, "did:web:web.test:..", []error{identity.ErrInvalidDID}},
		{"handle with a disallowed TLD", w.res, "printer.local", []error{identity.ErrInvalidHandle}},
		{"malformed handle", w.res, "jo_hn.test", []error{identity.ErrInvalidHandle}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := tc.res.Lookup(context.Background(), tc.input)
			if err == nil {
				t.Fatalf("Lookup succeeded: %+v", id)
			}
			for _, want := range tc.want {
				if !errors.Is(err, want) {
					t.Errorf("error %q is not %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestDocumentWithoutKeyOrPDSIsReported(t *testing.T) {
	w, _ := newWorld(t)
	w.web.Page("nokey.test", "/.well-known/did.json", "application/json",
		`{"id":"did:web:nokey.test","alsoKnownAs":["at://nokey.test"],"service":[{"id":"#atproto_pds","type":"AtprotoPersonalDataServer","serviceEndpoint":"ftp://x.test"}]}`)
	id, err := w.res.Lookup(context.Background(), "did:web:nokey.test")
	if err != nil {
		t.Fatal(err)
	}
	if id.Doc.SigningKey != nil || !errors.Is(id.Doc.KeyErr, identity.ErrNoAtprotoKey) {
		t.Errorf("key %v, error %v; want ErrNoAtprotoKey", id.Doc.SigningKey, id.Doc.KeyErr)
	}
	if id.Doc.PDS != "" || !errors.Is(id.Doc.PDSErr, identity.ErrNoPDS) {
		t.Errorf("PDS %q, error %v; want ErrNoPDS", id.Doc.PDS, id.Doc.PDSErr)
	}
}

func TestResolveHandleTimesOut(t *testing.T) {
	// A DNS "server" that never answers, and no HTTPS host: the lookup
	// must end after the timeout with both reasons.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	web := identitytest.StartWeb(t)
	web.Handle("slow.test", "/.well-known/atproto-did", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	res := &identity.Resolver{DNSAddr: pc.LocalAddr().String(), HTTPClient: web.Client(), Timeout: 300 * time.Millisecond}
	start := time.Now()
	_, _, err = res.ResolveHandle(context.Background(), "slow.test")
	if !errors.Is(err, identity.ErrDNS) || !errors.Is(err, identity.ErrWellKnown) {
		t.Errorf("error %v, want ErrDNS and ErrWellKnown", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s with a 300ms timeout", d)
	}
}
