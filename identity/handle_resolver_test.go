package identity_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arbor-atproto/arbor/identity"
	"github.com/arbor-atproto/arbor/identity/identitytest"
)

// resolveHandleServer answers com.atproto.identity.resolveHandle from
// handles, as a PDS does for its accounts (HandleNotFound otherwise).
func resolveHandleServer(t *testing.T, handles map[string]string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/xrpc/com.atproto.identity.resolveHandle" {
			http.NotFound(w, r)
			return
		}
		did, ok := handles[r.URL.Query().Get("handle")]
		if !ok {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"HandleNotFound","message":"Unable to resolve handle"}`)
			return
		}
		fmt.Fprintf(w, `{"did":%q}`, did)
	}))
	t.Cleanup(s.Close)
	return s.URL
}

func TestHandleResolver(t *testing.T) {
	const (
		local = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"
		dnsD  = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb"
	)
	hr := resolveHandleServer(t, map[string]string{"alice.test": local, "bad.test": "not a did"})
	dns := identitytest.StartDNS(t, map[string][]string{"_atproto.bob.test": {"did=" + dnsD}})
	web := identitytest.StartWeb(t)
	tests := []struct {
		name       string
		only       bool
		handle     string
		did        string
		method     string
		wantErr    error
		wantErrMsg string
	}{
		{"the resolver answers first", false, "alice.test", local, identity.MethodResolver, nil, ""},
		{"a handle the resolver does not know falls back to DNS", false, "bob.test", dnsD, identity.MethodDNS, nil, ""},
		{"only the resolver: DNS is not asked", true, "bob.test", "", "", identity.ErrHandleNotFound, "HandleNotFound"},
		{"only the resolver: its answer", true, "alice.test", local, identity.MethodResolver, nil, ""},
		{"an answer that is not a DID", true, "bad.test", "", "", identity.ErrHandleResolver, "invalid DID"},
		{"nobody knows the handle: every reason is given", false, "nobody.test", "", "", identity.ErrHandleResolver, "no _atproto TXT record"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := &identity.Resolver{HandleResolver: hr, HandleResolverOnly: tc.only, DNSAddr: dns, HTTPClient: web.Client(), Timeout: 5 * time.Second}
			did, method, err := res.ResolveHandle(context.Background(), tc.handle)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !errors.Is(err, identity.ErrHandleNotFound) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErrMsg) {
					t.Fatalf("error %q does not say %q", err, tc.wantErrMsg)
				}
				return
			}
			if err != nil || did.String() != tc.did || method != tc.method {
				t.Fatalf("got %s via %s, %v; want %s via %s", did, method, err, tc.did, tc.method)
			}
		})
	}
}
