package pds

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// admin.searchAccounts lists every account in pages, and needs the admin
// password.
func TestAdminSearchAccountsPagesThroughEveryAccount(t *testing.T) {
	ts := startServer(t, Config{})
	want := map[string]string{}
	for i := range 5 {
		u := ts.createUser(fmt.Sprintf("user%d", i))
		want[u.did] = u.handle
	}
	admin := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+ts.srv.AdminPassword()))}
	if r := ts.do(http.MethodGet, "/xrpc/com.atproto.admin.searchAccounts", "", nil, nil); r.status != 401 {
		t.Fatalf("without the admin password: %s", r)
	}
	got := map[string]string{}
	cursor, pages := "", 0
	for ; pages < 10; pages++ {
		p := "/xrpc/com.atproto.admin.searchAccounts?limit=2"
		if cursor != "" {
			p += "&cursor=" + cursor
		}
		out := ts.ok(ts.do(http.MethodGet, p, "", nil, admin))
		for _, a := range out["accounts"].([]any) {
			v := a.(map[string]any)
			got[v["did"].(string)] = v["handle"].(string)
			if v["email"] == nil || v["indexedAt"] == nil {
				t.Fatalf("account view %v lacks email or indexedAt", v)
			}
		}
		c, _ := out["cursor"].(string)
		if c == "" {
			break
		}
		cursor = c
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || pages != 2 {
		t.Fatalf("listed %v in %d pages, want %v in 3", got, pages+1, want)
	}
	out := ts.ok(ts.do(http.MethodGet, "/xrpc/com.atproto.admin.searchAccounts?email=USER3@example.com", "", nil, admin))
	if as := out["accounts"].([]any); len(as) != 1 || as[0].(map[string]any)["handle"] != "user3.test" {
		t.Fatalf("by email: %v", out)
	}
}

// The data directory tells tools the URL and admin password (mode 0600),
// and the database with the server's secrets is the owner's alone.
func TestDataDirectoryKeepsServeInfoAndSecretsPrivate(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o755) // as a user may have made it
	ts := startServer(t, Config{DataDir: dir})
	info, err := ReadServeInfo(dir)
	if err != nil || info.URL != ts.url || info.AdminPassword != ts.srv.AdminPassword() || info.PLC != ts.url {
		t.Fatalf("serve info %+v %v; server %s %s", info, err, ts.url, ts.srv.AdminPassword())
	}
	for _, name := range []string{ServeInfoFile, "pds.sqlite", "pds.sqlite-wal"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v, want mode 0600", name, fi, err)
		}
	}
	if _, err := ReadServeInfo(t.TempDir()); err == nil {
		t.Fatal("a directory without serve.json gave serve info")
	}
}
