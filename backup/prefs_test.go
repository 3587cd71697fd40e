package backup_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/backup"
	"github.com/arbor-atproto/arbor/pdsclient"
)

// TestPreferencesWhenLoggedIn: with a session of the account, its
// preferences are kept as preferences.json (in the manifest, checked by
// verify), replaced when they change and left alone when they do not;
// without one the summary says nobody was logged in; a session of another
// account is refused.
func TestPreferencesWhenLoggedIn(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.account()
	ctx := context.Background()
	sess, err := pdsclient.New(w.ts.URL, nil).Login(ctx, w.handle, "hunter2hunter2")
	if err != nil {
		t.Fatal(err)
	}
	client := pdsclient.WithSession(sess, nil)
	prefs := `[{"$type":"app.bsky.actor.defs#adultContentPref","enabled":false}]`
	if err := client.PutPreferences(ctx, json.RawMessage(prefs)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keptPrefs := func() string {
		b, err := os.ReadFile(filepath.Join(dir, backup.PrefsFile))
		if err != nil {
			t.Fatal(err)
		}
		var p struct{ Preferences json.RawMessage }
		json.Unmarshal(b, &p)
		var v []map[string]any
		json.Unmarshal(p.Preferences, &v)
		out, _ := json.Marshal(v)
		return string(out)
	}

	s := runBackup(t, w, dir, backup.Options{Preferences: client})
	m, _ := backup.ReadManifest(dir)
	if s.Preferences != backup.PrefsRefreshed || keptPrefs() != prefs || m.Files[backup.PrefsFile].SHA256 == "" {
		t.Fatalf("first run: %q, kept %s, manifest %+v", s.Preferences, keptPrefs(), m.Files)
	}
	mustVerify(t, dir)
	if s = runBackup(t, w, dir, backup.Options{Preferences: client}); s.Preferences != backup.PrefsUnchanged || s.Mode != backup.ModeUnchanged {
		t.Fatalf("second run: %+v", s)
	}
	prefs2 := `[{"$type":"app.bsky.actor.defs#adultContentPref","enabled":true}]`
	client.PutPreferences(ctx, json.RawMessage(prefs2))
	if s = runBackup(t, w, dir, backup.Options{Preferences: client}); s.Preferences != backup.PrefsRefreshed || keptPrefs() != prefs2 {
		t.Fatalf("after a change: %+v, kept %s", s, keptPrefs())
	}
	mustVerify(t, dir)
	if s = runBackup(t, w, dir, backup.Options{}); s.Preferences != backup.PrefsNotLoggedIn || keptPrefs() != prefs2 {
		t.Fatalf("without a session: %q", s.Preferences)
	}

	// The kept file altered: verify says so.
	os.WriteFile(filepath.Join(dir, backup.PrefsFile), []byte(`{"preferences":[]}`+"\n"), 0o600)
	rep, _ := backup.Verify(ctx, dir, backup.VerifyOptions{})
	if rep.Valid() || rep.Problems[0].File != backup.PrefsFile {
		t.Fatalf("altered preferences: %+v", rep.Problems)
	}

	var bob struct{ DID string }
	w.post("com.atproto.server.createAccount", "", "application/json", []byte(`{"handle":"bob.test","password":"hunter2hunter2","email":"bob@example.com"}`), &bob)
	bobSess, err := pdsclient.New(w.ts.URL, nil).Login(ctx, "bob.test", "hunter2hunter2")
	if err != nil {
		t.Fatal(err)
	}
	_, err = backup.Run(ctx, w.handle, t.TempDir(), backup.Options{Resolver: w.resolver(), Preferences: pdsclient.WithSession(bobSess, nil)})
	if !errors.Is(err, backup.ErrOtherAccount) || !strings.Contains(err.Error(), bob.DID) {
		t.Fatalf("bob's session for alice's backup: %v", err)
	}
}
