package identity_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/identity"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// syntaxVectors reads one of the interop syntax files (comments and blank
// lines skipped).
func syntaxVectors(t *testing.T, name string) []string {
	t.Helper()
	f, err := os.Open(testfixtures.Path(t, "interop", "syntax", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no vectors", name)
	}
	return out
}

// A resolver that cannot reach anything (its HTTP client refuses to dial):
// bad input must be refused before any lookup.
func offlineResolver() *identity.Resolver {
	noDial := &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("test: no network")
	}}
	return &identity.Resolver{PLCHost: "http://127.0.0.1:1", DNSAddr: "127.0.0.1:1", HTTPClient: &http.Client{Transport: noDial}}
}

func TestInvalidHandleVectorsAreRefusedBeforeLookup(t *testing.T) {
	res := offlineResolver()
	for _, h := range syntaxVectors(t, "handle_syntax_invalid.txt") {
		if _, err := identity.ParseHandle(h); !errors.Is(err, identity.ErrInvalidHandle) {
			t.Errorf("ParseHandle(%q) = %v, want ErrInvalidHandle", h, err)
		}
		if _, _, err := res.ResolveHandle(context.Background(), h); !errors.Is(err, identity.ErrInvalidHandle) {
			t.Errorf("ResolveHandle(%q) = %v, want ErrInvalidHandle", h, err)
		}
	}
}

func TestInvalidDIDVectorsAreRefusedBeforeLookup(t *testing.T) {
	res := offlineResolver()
	for _, d := range syntaxVectors(t, "did_syntax_invalid.txt") {
		if _, err := identity.ParseDID(d); !errors.Is(err, identity.ErrInvalidDID) {
			t.Errorf("ParseDID(%q) = %v, want ErrInvalidDID", d, err)
		}
		if _, err := res.ResolveDID(context.Background(), syntax.DID(d)); !errors.Is(err, identity.ErrInvalidDID) {
			t.Errorf("ResolveDID(%q) = %v, want ErrInvalidDID", d, err)
		}
		// Lookup reads "did:..." as a DID (other vectors, such as
		// did.method.val, are valid handles).
		if strings.HasPrefix(d, "did:") {
			if _, err := res.Lookup(context.Background(), d); !errors.Is(err, identity.ErrInvalidDID) {
				t.Errorf("Lookup(%q) = %v, want ErrInvalidDID", d, err)
			}
		}
	}
}

func TestValidVectorsParse(t *testing.T) {
	for _, h := range syntaxVectors(t, "handle_syntax_valid.txt") {
		_, err := identity.ParseHandle(h)
		// Valid syntax is accepted unless the TLD is one atproto reserves.
		if err != nil && !strings.Contains(err.Error(), "top-level domain") {
			t.Errorf("ParseHandle(%q) = %v", h, err)
		}
	}
	for _, d := range syntaxVectors(t, "did_syntax_valid.txt") {
		_, err := identity.ParseDID(d)
		if err != nil && !errors.Is(err, identity.ErrUnsupportedDID) && !strings.HasPrefix(d, "did:plc:") && !strings.HasPrefix(d, "did:web:") {
			t.Errorf("ParseDID(%q) = %v", d, err)
		}
		if err != nil && errors.Is(err, identity.ErrInvalidDID) && !strings.HasPrefix(d, "did:plc:") && !strings.HasPrefix(d, "did:web:") {
			t.Errorf("ParseDID(%q) calls valid syntax invalid: %v", d, err)
		}
	}
}
