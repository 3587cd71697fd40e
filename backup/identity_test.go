package backup_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/backup"
)

// TestIdentityChangeRefreshesDocumentAndAuditLog: a new handle changes
// the DID document; the next run keeps the new did.json and a new audit
// log (one more entry), which verify finds ending in that document. An
// unchanged identity fetches no audit log at all.
func TestIdentityChangeRefreshesDocumentAndAuditLog(t *testing.T) {
	t.Parallel()
	w, _, dir := backedUp(t)
	w.post("com.atproto.identity.updateHandle", w.access, "application/json", []byte(`{"handle":"alice2.test"}`), nil)
	w.handle = "alice2.test"
	s := runBackup(t, w, dir, backup.Options{})
	counts, _ := w.take()
	if !s.DocumentRefreshed || !s.AuditLogRefreshed || s.AuditLogEntries < 2 || s.Mode == backup.ModeFull {
		t.Fatalf("after a new handle: %+v", s)
	}
	m, _ := backup.ReadManifest(dir)
	doc, _ := os.ReadFile(filepath.Join(dir, backup.DIDDocFile))
	if m.Handle != "alice2.test" || !strings.Contains(string(doc), "at://alice2.test") || counts["plc"] < 3 {
		t.Fatalf("manifest handle %q, document %s, requests %v", m.Handle, doc, counts)
	}
	rep := mustVerify(t, dir)
	if rep.AuditLogEntries != s.AuditLogEntries {
		t.Fatalf("verify read %d audit log entries, the run %d", rep.AuditLogEntries, s.AuditLogEntries)
	}
}

// TestVerifyChecksTheAuditLog: an audit log that is another DID's, or that
// ends in another document than did.json, fails verify even when the
// manifest's hash was made to match it.
func TestVerifyChecksTheAuditLog(t *testing.T) {
	t.Parallel()
	w, _, dir := backedUp(t)
	var bob struct{ DID string }
	w.post("com.atproto.server.createAccount", "", "application/json", []byte(`{"handle":"bob.test","password":"hunter2hunter2","email":"bob@example.com"}`), &bob)
	get := func(path string) []byte {
		resp, err := http.Get(w.ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b
	}
	bobsLog := get("/" + bob.DID + "/log/audit")
	aliceLog, _ := os.ReadFile(filepath.Join(dir, backup.AuditLogFile))
	w.post("com.atproto.identity.updateHandle", w.access, "application/json", []byte(`{"handle":"alice3.test"}`), nil)
	newerLog := get("/" + w.did + "/log/audit")
	for _, tc := range []struct {
		name string
		log  []byte
		want string
	}{
		{"another DID's log", bobsLog, "does not validate"},
		{"a log that ends in another document", newerLog, "does not end in the DID document"},
		{"the right log", aliceLog, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.WriteFile(filepath.Join(dir, backup.AuditLogFile), tc.log, 0o600)
			m, _ := backup.ReadManifest(dir)
			sum := sha256.Sum256(tc.log)
			m.Files[backup.AuditLogFile] = backup.FileEntry{SHA256: hex.EncodeToString(sum[:]), Bytes: int64(len(tc.log)), Refreshed: m.Files[backup.AuditLogFile].Refreshed}
			writeManifest(t, dir, m)
			rep, err := backup.Verify(context.Background(), dir, backup.VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if !rep.Valid() {
					t.Fatalf("%v", rep.Problems)
				}
				return
			}
			if len(rep.Problems) != 1 || rep.Problems[0].File != backup.AuditLogFile || !strings.Contains(rep.Problems[0].Error, tc.want) {
				t.Fatalf("want one %s problem %q, got %v", backup.AuditLogFile, tc.want, rep.Problems)
			}
		})
	}

	t.Run("--resolve checks against the live document", func(t *testing.T) {
		rep, err := backup.Verify(context.Background(), dir, backup.VerifyOptions{Resolver: w.resolver()})
		if err != nil || !rep.Valid() || rep.KeyFrom != "resolved" {
			t.Fatalf("%v %+v", err, rep)
		}
	})
}

// writeManifest replaces a backup's manifest (a test's tampering).
func writeManifest(t *testing.T, dir string, m *backup.Manifest) {
	t.Helper()
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, backup.ManifestFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
}
