package commands

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/pds"
	"github.com/arbor-atproto/arbor/plc"
)

// openLocalPDS starts arbor's PDS in-process on loopback (with its
// embedded did:plc directory), both closed when the test ends.
func openLocalPDS(t *testing.T) (*httptest.Server, *pds.Server) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	ts.Start()
	t.Cleanup(ts.Close)
	srv, err := pds.Open(pds.Config{PublicURL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ts.Config.Handler = srv
	return ts, srv
}

// xrpcPost posts body to the XRPC method at base, fails the test unless
// the answer is HTTP 200, and decodes its JSON into out when out is not nil.
func xrpcPost(t *testing.T, base, method, token, ctype string, body []byte, out any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/xrpc/"+method, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: HTTP %d: %s", method, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: %v: %s", method, err, b)
		}
	}
}

// startLocalPDS starts arbor's PDS in-process on loopback (with its
// embedded did:plc directory) and creates the account alice.test with one
// record. It returns the server's URL and alice's DID.
func startLocalPDS(t *testing.T) (string, string) {
	t.Helper()
	ts, srv := openLocalPDS(t)
	call := func(method, token string, body string, out any) {
		t.Helper()
		xrpcPost(t, ts.URL, method, token, "application/json", []byte(body), out)
	}
	var acct struct{ DID, AccessJwt string }
	call("com.atproto.server.createAccount", "", `{"handle":"alice.test","password":"hunter2hunter2","email":"alice@example.com"}`, &acct)
	call("com.atproto.repo.createRecord", acct.AccessJwt, `{"repo":"`+acct.DID+`","collection":"app.bsky.feed.post","record":{"$type":"app.bsky.feed.post","text":"hi","createdAt":"2024-01-01T00:00:00.000Z"}}`, nil)
	if srv.PLCURL() != ts.URL {
		t.Fatalf("the PDS's directory is %s, not itself", srv.PLCURL())
	}
	return ts.URL, acct.DID
}

// TestLocalPDSHandlesResolve: a handle of a local arbor pds resolves with
// no DNS at all, through --plc-host pointing at the PDS (which embeds the
// did:plc directory) or through --handle-resolver.
func TestLocalPDSHandlesResolve(t *testing.T) {
	url, did := startLocalPDS(t)
	type idJSON struct {
		DID, Handle, HandleMethod string
		HandleVerified            bool
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"resolve a handle with --plc-host alone", []string{"resolve", "alice.test", "--plc-host", url}},
		{"resolve a handle with --handle-resolver", []string{"resolve", "alice.test", "--plc-host", url, "--handle-resolver", url}},
		{"resolve the DID: the handle it claims resolves back", []string{"resolve", did, "--plc-host", url}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var j idJSON
			r := runJSON(t, &j, append(tc.args, "--json", "--timeout", "5s")...)
			if r.code != 0 || j.DID != did || j.Handle != "alice.test" || !j.HandleVerified || j.HandleMethod != "resolver" {
				t.Fatalf("exit %d, %+v, stderr %q", r.code, j, r.stderr)
			}
		})
	}
	t.Run("fetch alice.test from the local PDS", func(t *testing.T) {
		dir := t.TempDir()
		var j struct {
			DID            string
			HandleVerified bool
			Records        int
		}
		r := runJSON(t, &j, "fetch", "alice.test", "-o", filepath.Join(dir, "alice.car"), "--plc-host", url, "--json", "--timeout", "5s")
		if r.code != 0 || j.DID != did || !j.HandleVerified || j.Records != 1 {
			t.Fatalf("exit %d, %+v, stderr %q", r.code, j, r.stderr)
		}
	})
	t.Run("a handle the PDS does not have", func(t *testing.T) {
		r := run(t, "", "resolve", "bob.test", "--plc-host", url, "--handle-resolver", url, "--timeout", "5s")
		wantOneLineError(t, r, ExitUsage, "HandleNotFound")
	})
	t.Run("--handle-resolver must be a URL", func(t *testing.T) {
		r := run(t, "", "resolve", "alice.test", "--handle-resolver", "localhost:2583")
		wantOneLineError(t, r, ExitUsage, "--handle-resolver")
	})
}

// TestRotationKeyLimitEverywhere: an operation with six rotation keys,
// correctly signed, fails plc verify (exit 1) and the local PDS's embedded
// did:plc directory refuses it; five keys pass both.
func TestRotationKeyLimitEverywhere(t *testing.T) {
	url, _ := startLocalPDS(t)
	signer := testfixtures.NewKey(t, false)
	for _, n := range []int{5, 6} {
		t.Run(fmt.Sprintf("%d rotation keys", n), func(t *testing.T) {
			pub, _ := signer.PublicKey()
			op := &plc.Operation{Type: plc.TypeOperation, RotationKeys: []string{pub.DIDKey()},
				VerificationMethods: []plc.VerificationMethod{{ID: "atproto", Key: pub.DIDKey()}},
				AlsoKnownAs:         []string{"at://six.test"},
				Services:            []plc.Service{{ID: "atproto_pds", Type: "AtprotoPersonalDataServer", Endpoint: url}}}
			for len(op.RotationKeys) < n {
				op.RotationKeys = append(op.RotationKeys, genKey(t).DIDKey())
			}
			if err := plc.Sign(op, signer); err != nil {
				t.Fatal(err)
			}
			did, err := plc.DIDFromGenesis(op)
			if err != nil {
				t.Fatal(err)
			}
			body := op.AppendJSON(nil)
			f := filepath.Join(t.TempDir(), "log.json")
			os.WriteFile(f, []byte("["+string(body)+"]"), 0o644)
			v := run(t, "", "plc", "verify", f)
			resp, err := http.Post(url+"/"+did.String(), "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if n <= plc.MaxRotationKeys {
				if v.code != 0 || resp.StatusCode != 200 {
					t.Fatalf("plc verify exit %d (%s); PDS directory HTTP %d %s", v.code, v.stderr, resp.StatusCode, msg)
				}
				return
			}
			wantOneLineError(t, v, ExitFail, "6 keys; the did:plc spec allows at most 5")
			if resp.StatusCode != 400 || !strings.Contains(string(msg), "at most 5") {
				t.Fatalf("PDS directory: HTTP %d %s", resp.StatusCode, msg)
			}
		})
	}
}
