package view

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// The end-to-end test drives the real page in Debian's headless chromium
// through chromedriver (the W3C WebDriver protocol, spoken here directly:
// no node modules). .ci/deps/view-e2e.sh installs both. Without them the
// test skips, unless ARBOR_REQUIRE_E2E=1, when it fails.

// webDriver is a minimal W3C WebDriver client for one session.
type webDriver struct {
	t       *testing.T
	base    string // http://127.0.0.1:PORT
	session string
}

func (d *webDriver) call(method, path string, body any) json.RawMessage {
	d.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	url := d.base + path
	if d.session != "" && !strings.HasPrefix(path, "/session") {
		url = d.base + "/session/" + d.session + path
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("webdriver %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out struct {
		Value json.RawMessage `json:"value"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil || resp.StatusCode != 200 {
		d.t.Fatalf("webdriver %s %s: status %d: %s", method, path, resp.StatusCode, raw)
	}
	return out.Value
}

// exec runs a script in the page and decodes its result into v.
func (d *webDriver) exec(v any, script string, args ...any) {
	d.t.Helper()
	if args == nil {
		args = []any{}
	}
	raw := d.call("POST", "/execute/sync", map[string]any{"script": script, "args": args})
	if v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			d.t.Fatalf("script result %s: %v", raw, err)
		}
	}
}

// find returns the element matching a CSS selector, waiting for it.
func (d *webDriver) find(css string) string {
	d.t.Helper()
	var id string
	d.waitFor("element "+css, func() bool {
		var n int
		d.exec(&n, "return document.querySelectorAll(arguments[0]).length", css)
		return n > 0
	})
	raw := d.call("POST", "/element", map[string]string{"using": "css selector", "value": css})
	var m map[string]string
	json.Unmarshal(raw, &m)
	for _, v := range m {
		id = v
	}
	return id
}

func (d *webDriver) click(css string) {
	d.t.Helper()
	d.call("POST", "/element/"+d.find(css)+"/click", map[string]any{})
}

func (d *webDriver) text(css string) string {
	d.t.Helper()
	var s string
	json.Unmarshal(d.call("GET", "/element/"+d.find(css)+"/text", nil), &s)
	return s
}

func (d *webDriver) waitFor(what string, cond func() bool) {
	d.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			var status string
			d.exec(&status, "return (document.getElementById('status')||{}).textContent || ''")
			d.t.Fatalf("timed out waiting for %s (page status %q)", what, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startBrowser starts chromedriver and a headless chromium session, or
// skips (fails with ARBOR_REQUIRE_E2E=1) when they are not installed.
func startBrowser(t *testing.T) *webDriver {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		testfixtures.NeedE2E(t, false, fmt.Sprintf(format, args...)+"; install with .ci/deps/view-e2e.sh")
	}
	var browser string
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		missing("headless e2e test: chromium is not installed")
	}
	driver, err := exec.LookPath("chromedriver")
	if err != nil {
		missing("headless e2e test: chromedriver (Debian package chromium-driver) is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(driver, fmt.Sprintf("--port=%d", port))
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("chromedriver: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	d := &webDriver{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(d.base + "/status")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("chromedriver did not start: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	profile := t.TempDir()
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome",
		"goog:chromeOptions": map[string]any{
			"binary": browser,
			"args": []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
				"--disable-background-networking", "--disable-component-update", "--disable-sync",
				"--no-first-run", "--user-data-dir=" + profile, "--window-size=1440,900"},
		},
	}}}
	var sess struct {
		SessionID string `json:"sessionId"`
	}
	if err := json.Unmarshal(d.call("POST", "/session", caps), &sess); err != nil || sess.SessionID == "" {
		t.Fatalf("no webdriver session: %v", err)
	}
	d.session = sess.SessionID
	t.Cleanup(func() { d.call("DELETE", "/session/"+d.session, nil) })
	return d
}

// In a real browser: the page shows the commit, expanding the tree node by
// node down to a like record and clicking it shows the record's JSON with a
// link to the post it likes, which opens that post; "find path" marks the
// key in the tree; every resource came from the server itself.
func TestPageInHeadlessChromium(t *testing.T) {
	d := startBrowser(t)
	// Read as arbor view reads a file: record bodies stay in it.
	g, _ := loadGolden(t, "r300")
	in := Input{Name: "r300.car", Archive: readLazy(t, filepath.Join(goldenDir, "r300.car"))}
	ts := newTestServer(t, Options{}, in)

	// A like deep in the tree: its path, from the reference's record list
	// and the tree's own search path.
	tree := NewBrowser(in.Archive.Base(), in.Archive.Base().Data)
	var like string
	var path []*Node
	for _, r := range g.Records {
		if !strings.HasPrefix(r.Path, "app.bsky.feed.like/") {
			continue
		}
		nodes, found, err := tree.Path(r.Path)
		if err != nil || !found {
			t.Fatalf("%s: %v %v", r.Path, found, err)
		}
		if len(nodes) > len(path) {
			like, path = r.Path, nodes
		}
	}
	if len(path) < 3 {
		t.Fatalf("fixture has no like at least 3 nodes down (deepest %d)", len(path))
	}

	d.call("POST", "/url", map[string]string{"url": ts.URL + "/"})
	d.waitFor("the page to load", func() bool {
		var ready bool
		d.exec(&ready, "return document.body.dataset.ready === '1'")
		return ready
	})
	if got := d.text("#commit"); !strings.Contains(got, g.DID) || !strings.Contains(got, g.Rev) || !strings.Contains(got, "not checked") {
		t.Errorf("commit panel %q lacks the DID, rev or signature state", got)
	}
	if got := d.text("#collections"); !strings.Contains(got, "app.bsky.feed.like") || !strings.Contains(got, fmt.Sprint(g.Collections["app.bsky.feed.like"])) {
		t.Errorf("collections panel %q lacks the likes and their count", got)
	}

	// The root is open; click each node below it on the like's path.
	sel := fmt.Sprintf(`.node[data-cid=%q]`, path[0].CID.String())
	for _, n := range path[1:] {
		sel += fmt.Sprintf(` > .kids > .node[data-cid=%q]`, n.CID.String())
		head := d.text(sel + " > .node-head")
		if !strings.HasPrefix(head, fmt.Sprintf("▸\nL%d", n.Layer)) && !strings.Contains(head, fmt.Sprintf("L%d", n.Layer)) {
			t.Errorf("node head %q does not show layer %d", head, n.Layer)
		}
		d.click(sel + " > .node-head")
		d.find(sel + " > .kids")
	}
	d.click(sel + fmt.Sprintf(` > .kids > .entry[data-key=%q]`, like))
	d.waitFor("the record to open", func() bool { return d.text("#record-path") == like })
	js := d.text("#json")
	for _, want := range []string{`"$type": "app.bsky.feed.like"`, `"subject"`, `"uri": "at://` + g.DID + `/app.bsky.feed.post/`} {
		if !strings.Contains(js, want) {
			t.Errorf("record JSON lacks %s:\n%s", want, js)
		}
	}
	var target string
	d.exec(&target, "return document.querySelector('#json a.ref').dataset.path")
	if !strings.HasPrefix(target, "app.bsky.feed.post/") {
		t.Fatalf("the like's first link goes to %q, not a post", target)
	}
	d.click("#json a.ref")
	d.waitFor("the liked post to open", func() bool { return d.text("#record-path") == target })
	post := target

	// Find the post's path from the root.
	d.click("#record-find")
	d.waitFor("the post to be marked in the tree", func() bool {
		var key string
		d.exec(&key, "const e = document.querySelector('.entry.found'); return e ? e.dataset.key : ''")
		return key == post
	})
	if info := d.text("#path-info"); !strings.Contains(info, "found") {
		t.Errorf("path info %q", info)
	}

	var urls []string
	d.exec(&urls, "return performance.getEntriesByType('resource').map(e => e.name).concat([location.href])")
	for _, u := range urls {
		if !strings.HasPrefix(u, ts.URL+"/") {
			t.Errorf("the page loaded %s from elsewhere", u)
		}
	}

	d.click(fmt.Sprintf(`.node[data-cid=%q] > .kids > .entry[data-key=%q]`, path[len(path)-1].CID.String(), like))
	d.waitFor("the like to open again", func() bool { return d.text("#record-path") == like })
	var shot string
	json.Unmarshal(d.call("GET", "/screenshot", nil), &shot)
	png, err := base64.StdEncoding.DecodeString(shot)
	if err != nil || len(png) < 1000 {
		t.Fatalf("screenshot: %d bytes, %v", len(png), err)
	}
	out := filepath.Join(t.ArtifactDir(), "view-r300.png")
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	if p := os.Getenv("ARBOR_E2E_SCREENSHOT"); p != "" {
		os.WriteFile(p, png, 0o644)
	}
	t.Logf("screenshot: %s", out)
}

// With two snapshots the page lists the diff; an updated record opens on
// side B with its badge and field changes, and the new root is marked as a
// node only B has.
func TestPageShowsDiffInHeadlessChromium(t *testing.T) {
	d := startBrowser(t)
	dir := filepath.Join("..", "golden", "diffs", "mixed-100")
	var want struct {
		Creates, Updates, Deletes []struct{ Path string }
		NewRoot                   string `json:"newRoot"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &want)
	ts := newTestServer(t, Options{},
		Input{Name: "old.car", Archive: readLazy(t, filepath.Join(dir, "old.car"))},
		Input{Name: "new.car", Archive: readLazy(t, filepath.Join(dir, "new.car"))})
	d.call("POST", "/url", map[string]string{"url": ts.URL + "/"})
	d.waitFor("the page to load", func() bool {
		var ready bool
		d.exec(&ready, "return document.body.dataset.ready === '1'")
		return ready
	})
	counts := d.text("#diff-counts")
	for _, w := range []string{fmt.Sprint(len(want.Creates), " CREATED"), fmt.Sprint(len(want.Updates), " UPDATED"), fmt.Sprint(len(want.Deletes), " DELETED")} {
		if !strings.Contains(strings.ToUpper(counts), w) {
			t.Errorf("diff counts %q lack %q", counts, w)
		}
	}
	upd := want.Updates[0].Path
	d.click(fmt.Sprintf(`#diff-ops li[data-path=%q]`, upd))
	d.waitFor("the updated record to open", func() bool { return d.text("#record-path") == upd })
	if badge := strings.ToLower(d.text("#record-change")); !strings.HasPrefix(badge, "updated") {
		t.Errorf("badge %q", badge)
	}
	if f := d.text("#record-fields"); f == "" {
		t.Error("no field changes shown for an updated record")
	}
	var sideB bool
	d.exec(&sideB, "return document.querySelector('#sides button.on').dataset.side === 'b'")
	if !sideB {
		t.Error("an updated record did not open on side B")
	}
	d.find(fmt.Sprintf(`#tree > .node.only-b[data-cid=%q]`, want.NewRoot))
	var shot string
	json.Unmarshal(d.call("GET", "/screenshot", nil), &shot)
	png, _ := base64.StdEncoding.DecodeString(shot)
	if len(png) < 1000 {
		t.Fatalf("screenshot: %d bytes", len(png))
	}
	os.WriteFile(filepath.Join(t.ArtifactDir(), "view-diff-mixed-100.png"), png, 0o644)
	if p := os.Getenv("ARBOR_E2E_SCREENSHOT"); p != "" {
		os.WriteFile(strings.TrimSuffix(p, ".png")+"-diff.png", png, 0o644)
	}
}
