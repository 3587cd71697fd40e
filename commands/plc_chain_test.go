package commands

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/arbor-atproto/arbor/plc"
)

// TestPLCOutputsChain runs each plc step on what the step before wrote,
// through commands.Run as a shell would: genesis -o → update, update -o →
// submit (no --did), verify's standard output → arbor verify --did-doc
// (a file, and standard input).
func TestPLCOutputsChain(t *testing.T) {
	dir := t.TempDir()
	rec, main := newKey(t, dir, "rec", false), newKey(t, dir, "main", false)
	file := func(name string) string { return filepath.Join(dir, name) }

	// genesis -o: a file update reads as a log of one operation.
	r := run(t, "", "plc", "genesis", "--rotation-key", rec.did, "--rotation-key", main.did, "--signing-key", main.did,
		"--handle", "alice.example.com", "--pds", "https://pds.example.com", "--sign-with", main.file, "-o", file("genesis.json"))
	if r.code != 0 {
		t.Fatalf("genesis: exit %d, %s", r.code, r.stderr)
	}
	var genesisOp map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &genesisOp); err != nil || genesisOp["type"] != "plc_operation" {
		t.Fatalf("genesis stdout is not the bare operation alone (%v): %q", err, r.stdout)
	}
	if !strings.Contains(r.stderr, "did: did:plc:") {
		t.Errorf("genesis stderr %q does not name the DID", r.stderr)
	}
	var g opOut
	b, _ := os.ReadFile(file("genesis.json"))
	if err := json.Unmarshal(b, &g); err != nil || !plc.ValidDID(g.DID) {
		t.Fatalf("genesis -o wrote %q (%v)", b, err)
	}
	if d := run(t, "", "plc", "did", file("genesis.json")); d.code != 0 || strings.TrimSpace(d.stdout) != g.DID {
		t.Fatalf("plc did on genesis -o: exit %d, %q %q", d.code, d.stdout, d.stderr)
	}

	r = run(t, "", "plc", "update", file("genesis.json"), "--handle", "bob.example.com", "--sign-with", main.file, "-o", file("update.json"))
	if r.code != 0 {
		t.Fatalf("update of genesis -o: exit %d, %s", r.code, r.stderr)
	}
	var u opOut
	b, _ = os.ReadFile(file("update.json"))
	if err := json.Unmarshal(b, &u); err != nil || u.DID != g.DID {
		t.Fatalf("update -o wrote %q (%v)", b, err)
	}

	// update -o → submit, against a directory holding the genesis.
	var mu sync.Mutex
	var postedPath string
	var posted []byte
	auditLog := []map[string]any{{"did": g.DID, "operation": json.RawMessage(g.Operation), "cid": g.CID, "nullified": false, "createdAt": "2025-03-01T12:00:00.000Z"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/"+g.DID+"/log/audit":
			json.NewEncoder(w).Encode(auditLog)
		case r.Method == http.MethodPost:
			mu.Lock()
			postedPath, posted = r.URL.Path, nil
			posted, _ = io.ReadAll(r.Body)
			mu.Unlock()
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	r = run(t, "", "plc", "submit", file("update.json"), "--plc-host", srv.URL)
	if r.code != 0 {
		t.Fatalf("submit of update -o without --did: exit %d, %s", r.code, r.stderr)
	}
	if op, err := plc.ParseOperation(posted); err != nil || postedPath != "/"+g.DID || op.CID().String() != u.CID {
		t.Fatalf("posted %q to %s (%v), want operation %s to /%s", posted, postedPath, err, u.CID, g.DID)
	}

	// plc verify's standard output is the document alone.
	log := append(auditLog, map[string]any{"did": g.DID, "operation": json.RawMessage(u.Operation), "cid": u.CID, "nullified": false, "createdAt": "2025-03-01T12:05:00.000Z"})
	lb, _ := json.Marshal(log)
	os.WriteFile(file("log.json"), lb, 0o644)
	v := run(t, "", "plc", "verify", file("log.json"))
	var doc struct {
		ID          string   `json:"id"`
		AlsoKnownAs []string `json:"alsoKnownAs"`
	}
	if v.code != 0 || json.Unmarshal([]byte(v.stdout), &doc) != nil || doc.ID != g.DID || doc.AlsoKnownAs[0] != "at://bob.example.com" {
		t.Fatalf("plc verify: exit %d, stdout %q is not the document alone; stderr %q", v.code, v.stdout, v.stderr)
	}
	if !strings.HasPrefix(v.stderr, "valid: "+g.DID) {
		t.Errorf("plc verify stderr %q", v.stderr)
	}
	os.WriteFile(file("doc.json"), []byte(v.stdout), 0o644)

	// A repository signed by the document's key verifies against it.
	recs := `{"collection":"app.bsky.feed.post","rkey":"3jzfcijpj2z2a","record":{"$type":"app.bsky.feed.post","text":"hi","createdAt":"2024-01-01T00:00:00.000Z"}}` + "\n"
	if c := run(t, recs, "create", file("repo.car"), "-", "--did", g.DID, "--key", main.file); c.code != 0 {
		t.Fatalf("create: exit %d, %s", c.code, c.stderr)
	}
	for _, tc := range []struct {
		name, stdin, arg string
	}{
		{"verify --did-doc FILE", "", file("doc.json")},
		{"verify --did-doc - (standard input)", v.stdout, "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.stdin, "verify", file("repo.car"), "--did-doc", tc.arg)
			if r.code != 0 || !strings.Contains(r.stdout, "signature checked") {
				t.Fatalf("exit %d, %q %q", r.code, r.stdout, r.stderr)
			}
		})
	}
	t.Run("verify --did-doc - of another DID's document fails", func(t *testing.T) {
		other := strings.Replace(v.stdout, main.did[len("did:key:"):], rec.did[len("did:key:"):], -1)
		r := run(t, other, "verify", file("repo.car"), "--did-doc", "-")
		if r.code != ExitFail {
			t.Fatalf("exit %d, %q %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("--did-doc - with the repository on standard input too", func(t *testing.T) {
		wantOneLineError(t, run(t, "", "verify", "-", "--did-doc", "-"), ExitUsage, "cannot both be standard input")
	})

	t.Run("plc update on a single operation that is not a genesis", func(t *testing.T) {
		wantOneLineError(t, run(t, "", "plc", "update", file("update.json"), "--handle", "c.example.com", "--sign-with", main.file),
			ExitUsage, "not a log: give the whole log")
	})
	t.Run("plc update on genesis -o naming another DID", func(t *testing.T) {
		var m map[string]any
		b, _ := os.ReadFile(file("genesis.json"))
		json.Unmarshal(b, &m)
		m["did"] = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"
		b, _ = json.Marshal(m)
		os.WriteFile(file("wrong.json"), b, 0o644)
		wantOneLineError(t, run(t, "", "plc", "update", file("wrong.json"), "--handle", "c.example.com", "--sign-with", main.file),
			ExitUsage, "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa")
	})
	t.Run("-o refuses an existing file unless --force", func(t *testing.T) {
		before, _ := os.ReadFile(file("update.json"))
		r := run(t, "", "plc", "update", file("genesis.json"), "--handle", "carol.example.com", "--sign-with", main.file, "-o", file("update.json"))
		wantOneLineError(t, r, ExitUsage, "refusing to overwrite "+file("update.json")+" (use --force)")
		if after, _ := os.ReadFile(file("update.json")); string(after) != string(before) {
			t.Fatal("the existing file was changed")
		}
		r = run(t, "", "plc", "update", file("genesis.json"), "--handle", "carol.example.com", "--sign-with", main.file, "-o", file("update.json"), "--force")
		if after, _ := os.ReadFile(file("update.json")); r.code != 0 || string(after) == string(before) {
			t.Fatalf("--force: exit %d, %s", r.code, r.stderr)
		}
	})
	t.Run("rollback prints the operation alone on standard output", func(t *testing.T) {
		r := run(t, "", "plc", "rollback", file("log.json"), "--last", "1", "--mode", "restore", "--sign-with", main.file, "-o", file("restore.json"))
		var op map[string]any
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &op) != nil || op["prev"] != u.CID {
			t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stderr, "restore rollback of "+g.DID) {
			t.Errorf("stderr %q", r.stderr)
		}
		var w opOut
		b, _ := os.ReadFile(file("restore.json"))
		if json.Unmarshal(b, &w) != nil || w.DID != g.DID {
			t.Errorf("rollback -o wrote %q", b)
		}
	})
}
