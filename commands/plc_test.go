package commands

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/plc"
)

var plcVectors = filepath.Join(shared, "interop", "plc", "audit_log")

// runPLC runs arbor with the plc command group, wired the way the CLI
// wires its commands (usage errors, flag reordering).
func runPLC(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	env := Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb}
	app := NewApp(env)
	if findCommand(app.Commands, "plc") == nil {
		app.Commands = append(app.Commands, PLCCommand())
		setUsageErrors(app.Commands)
	}
	err := app.Run(reorderArgs(app, append([]string{"arbor"}, args...)))
	return result{report(env.Stderr, err), out.String(), errb.String()}
}

func runPLCJSON(t *testing.T, v any, args ...string) result {
	t.Helper()
	return decodeOutput(t, runPLC(t, "", args...), v, args)
}

type testKey struct {
	priv atcrypto.PrivateKeyExportable
	file string // private multibase in a file
	did  string
}

func newKey(t *testing.T, dir, name string, p256 bool) testKey {
	t.Helper()
	k := testfixtures.NewKey(t, p256)
	f := filepath.Join(dir, name+".key")
	if err := os.WriteFile(f, []byte(k.Multibase()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, _ := k.PublicKey()
	return testKey{k, f, pub.DIDKey()}
}

type opOut struct {
	DID       string          `json:"did"`
	CID       string          `json:"cid"`
	Operation json.RawMessage `json:"operation"`
}

// auditLog keeps a log as a directory would, for the commands to read.
type auditLog struct {
	t       *testing.T
	path    string
	entries []map[string]any
}

func (l *auditLog) add(o opOut, at time.Time) {
	var op any
	if err := json.Unmarshal(o.Operation, &op); err != nil {
		l.t.Fatal(err)
	}
	l.entries = append(l.entries, map[string]any{"did": o.DID, "operation": op, "cid": o.CID, "nullified": false, "createdAt": plc.FormatTime(at)})
	l.write()
}

func (l *auditLog) write() {
	b, _ := json.Marshal(l.entries)
	if err := os.WriteFile(l.path, b, 0o644); err != nil {
		l.t.Fatal(err)
	}
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// newIdentity creates a DID with rotation keys [rec, main] through the
// genesis command and returns its audit log.
func newIdentity(t *testing.T, dir string, rec, main testKey) *auditLog {
	t.Helper()
	var g opOut
	r := runPLCJSON(t, &g, "plc", "genesis", "--rotation-key", rec.did, "--rotation-key", main.file,
		"--signing-key", main.file, "--handle", "alice.example.com", "--pds", "https://pds.example.com", "--sign-with", main.file, "--json")
	if r.code != 0 {
		t.Fatalf("genesis: %d %s", r.code, r.stderr)
	}
	l := &auditLog{t: t, path: filepath.Join(dir, "log.json")}
	l.add(g, t0)
	return l
}

func TestPLCGenesisDIDAndVerifyAgree(t *testing.T) {
	dir := t.TempDir()
	for _, p256 := range []bool{false, true} {
		rec, main := newKey(t, dir, "rec", p256), newKey(t, dir, "main", p256)
		l := newIdentity(t, dir, rec, main)
		opFile := filepath.Join(dir, "op.json")
		b, _ := json.Marshal(l.entries[0]["operation"])
		os.WriteFile(opFile, b, 0o644)
		r := runPLC(t, "", "plc", "did", opFile)
		if r.code != 0 || strings.TrimSpace(r.stdout) != l.entries[0]["did"] {
			t.Fatalf("did: exit %d, %q, want %s (%s)", r.code, r.stdout, l.entries[0]["did"], r.stderr)
		}
		var v struct {
			Valid    bool         `json:"valid"`
			DID      string       `json:"did"`
			Document plc.Document `json:"document"`
		}
		if r := runPLCJSON(t, &v, "plc", "verify", l.path, "--json"); r.code != 0 || !v.Valid {
			t.Fatalf("verify: %d %s", r.code, r.stderr)
		}
		if v.Document.ID != v.DID || len(v.Document.VerificationMethod) != 1 ||
			v.Document.VerificationMethod[0].PublicKeyMultibase != strings.TrimPrefix(main.did, "did:key:") ||
			v.Document.AlsoKnownAs[0] != "at://alice.example.com" || v.Document.Service[0].ServiceEndpoint != "https://pds.example.com" {
			t.Fatalf("document %+v", v.Document)
		}
	}
}

func TestPLCGenesisRefusesSignerOutsideRotationKeys(t *testing.T) {
	dir := t.TempDir()
	rec, other := newKey(t, dir, "rec", false), newKey(t, dir, "other", false)
	r := runPLC(t, "", "plc", "genesis", "--rotation-key", rec.did, "--handle", "a.example.com", "--sign-with", other.file)
	wantOneLineError(t, r, ExitUsage, "not among the rotation keys")
}

func TestPLCUpdateChainValidates(t *testing.T) {
	dir := t.TempDir()
	rec, main, sig2, extra := newKey(t, dir, "rec", false), newKey(t, dir, "main", false), newKey(t, dir, "sig2", true), newKey(t, dir, "extra", true)
	l := newIdentity(t, dir, rec, main)
	steps := [][]string{
		{"--handle", "bob.example.com"},
		{"--pds", "pds2.example.com"},
		{"--signing-key", sig2.did},
		{"--add-rotation-key", extra.file, "--first"},
		{"--remove-rotation-key", rec.did},
	}
	at := t0
	for _, s := range steps {
		at = at.Add(time.Hour)
		var o opOut
		// flags after the positional argument
		args := append([]string{"plc", "update", l.path}, s...)
		args = append(args, "--sign-with", main.file, "--now", plc.FormatTime(at), "--json")
		if r := runPLCJSON(t, &o, args...); r.code != 0 {
			t.Fatalf("%v: %d %s", s, r.code, r.stderr)
		}
		l.add(o, at.Add(time.Second))
	}
	b, _ := os.ReadFile(l.path)
	entries, err := plc.ParseLog(b)
	if err != nil {
		t.Fatal(err)
	}
	st, err := plc.ValidateLog("", entries)
	if err != nil {
		t.Fatal(err)
	}
	cur := st.Current()
	if cur.PrimaryHandle() != "bob.example.com" || !slices.Equal(cur.RotationKeys, []string{extra.did, main.did}) {
		t.Fatalf("state: %+v", cur)
	}
	if k, _ := cur.VerificationMethodByID("atproto"); k != sig2.did {
		t.Fatalf("signing key %s", k)
	}
	// a key that is no longer a rotation key cannot sign the next one
	r := runPLC(t, "", "plc", "update", l.path, "--handle", "x.example.com", "--sign-with", rec.file)
	wantOneLineError(t, r, ExitFail, "not among the rotation keys")
	// a change that changes nothing is a usage error
	r = runPLC(t, "", "plc", "update", l.path, "--handle", "bob.example.com", "--sign-with", main.file)
	wantOneLineError(t, r, ExitUsage, "changes nothing")
}

// hijacked returns a log where main changed the handle at t0+1h, and the
// keys.
func hijacked(t *testing.T) (*auditLog, testKey, testKey) {
	dir := t.TempDir()
	rec, main := newKey(t, dir, "rec", false), newKey(t, dir, "main", false)
	l := newIdentity(t, dir, rec, main)
	var o opOut
	if r := runPLCJSON(t, &o, "plc", "update", l.path, "--handle", "evil.example.com", "--sign-with", main.file, "--now", plc.FormatTime(t0.Add(time.Hour)), "--json"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	l.add(o, t0.Add(time.Hour))
	return l, rec, main
}

func TestPLCRollbackNullifyRules(t *testing.T) {
	l, rec, main := hijacked(t)
	first := t0.Add(time.Hour)
	cases := []struct {
		name   string
		key    testKey
		now    time.Time
		code   int
		stderr string
	}{
		{"higher-priority key within the window", rec, first.Add(71 * time.Hour), 0, ""},
		{"higher-priority key at exactly 72h", rec, first.Add(72 * time.Hour), 0, ""},
		{"higher-priority key at 72h and 1s", rec, first.Add(72*time.Hour + time.Second), ExitFail, "possible until " + plc.FormatTime(first.Add(72*time.Hour))},
		{"same key that signed the nullified operation", main, first.Add(time.Hour), ExitFail, "strictly higher priority"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runPLC(t, "", "plc", "rollback", l.path, "--last", "1", "--sign-with", c.key.file, "--now", plc.FormatTime(c.now))
			if c.code != 0 {
				wantOneLineError(t, r, c.code, c.stderr)
				return
			}
			// The plan is a message (stderr), the operation the result.
			var op map[string]any
			if r.code != 0 || !strings.Contains(r.stderr, "would nullify 1 operation") || !strings.Contains(r.stderr, l.entries[1]["cid"].(string)) ||
				json.Unmarshal([]byte(r.stdout), &op) != nil || op["prev"] != l.entries[0]["cid"] {
				t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			var plan struct {
				Possible  bool            `json:"possible"`
				CID       string          `json:"cid"`
				Operation json.RawMessage `json:"operation"`
			}
			runPLCJSON(t, &plan, "plc", "rollback", l.path, "--to", l.entries[0]["cid"].(string), "--sign-with", c.key.file, "--now", plc.FormatTime(c.now), "--json")
			if !plan.Possible {
				t.Fatal("json plan says impossible")
			}
			nl := &auditLog{t: t, path: l.path + ".after", entries: append([]map[string]any(nil), l.entries...)}
			nl.add(opOut{DID: l.entries[0]["did"].(string), CID: plan.CID, Operation: plan.Operation}, c.now)
			nl.entries[1] = copyMap(nl.entries[1])
			nl.entries[1]["nullified"] = true
			nl.write()
			var v struct {
				Valid     bool     `json:"valid"`
				Nullified []string `json:"nullified"`
			}
			if r := runPLCJSON(t, &v, "plc", "verify", nl.path, "--json"); r.code != 0 || len(v.Nullified) != 1 {
				t.Fatalf("log after rollback: %d %+v %s", r.code, v, r.stderr)
			}
		})
	}
	t.Run("dry run prints no operation", func(t *testing.T) {
		r := runPLC(t, "", "plc", "rollback", l.path, "--last", "1", "--sign-with", rec.file, "--now", plc.FormatTime(first.Add(time.Hour)), "--dry-run")
		if r.code != 0 || strings.Contains(r.stdout, `"sig"`) {
			t.Fatalf("exit %d\n%s", r.code, r.stdout)
		}
	})
}

func copyMap(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestPLCRollbackRestoreWorksAfterTheWindow(t *testing.T) {
	l, _, main := hijacked(t)
	now := t0.Add(30 * 24 * time.Hour)
	var plan struct {
		Possible  bool            `json:"possible"`
		Mode      string          `json:"mode"`
		CID       string          `json:"cid"`
		Operation json.RawMessage `json:"operation"`
	}
	r := runPLCJSON(t, &plan, "plc", "rollback", l.path, "--last", "1", "--mode", "restore", "--sign-with", main.file, "--now", plc.FormatTime(now), "--json")
	if r.code != 0 || !plan.Possible || plan.Mode != "restore" {
		t.Fatalf("%d %+v %s", r.code, plan, r.stderr)
	}
	l.add(opOut{DID: l.entries[0]["did"].(string), CID: plan.CID, Operation: plan.Operation}, now)
	var v struct {
		Document plc.Document `json:"document"`
	}
	if r := runPLCJSON(t, &v, "plc", "verify", l.path, "--json"); r.code != 0 || v.Document.AlsoKnownAs[0] != "at://alice.example.com" {
		t.Fatalf("%d %+v %s", r.code, v.Document, r.stderr)
	}
}

func TestPLCVerifyInteropVectors(t *testing.T) {
	for _, kind := range []string{"valid", "invalid"} {
		files, _ := filepath.Glob(filepath.Join(plcVectors, kind, "*.json"))
		if len(files) != 10 {
			t.Fatalf("%d %s vectors, want 10", len(files), kind)
		}
		for _, f := range files {
			r := runPLC(t, "", "plc", "verify", f)
			if kind == "valid" && r.code != 0 {
				t.Errorf("%s: exit %d %s", filepath.Base(f), r.code, r.stderr)
			}
			if kind == "invalid" {
				wantOneLineError(t, r, ExitFail, "operation ")
			}
		}
	}
}

func TestPLCVerifyBadInputIsUsageError(t *testing.T) {
	for name, in := range map[string]string{"not JSON": "{", "not a log": `{"a":1}`, "unknown op type": `[{"type":"nope"}]`, "empty": `[]`} {
		t.Run(name, func(t *testing.T) {
			wantOneLineError(t, runPLC(t, in, "plc", "verify", "-"), ExitUsage, "")
		})
	}
}

// exportStream interleaves all interop logs by createdAt as an export does.
func exportStream(t *testing.T) (string, map[string]bool) {
	t.Helper()
	type line struct {
		at  string
		raw []byte
	}
	var lines []line
	invalid := map[string]bool{}
	for _, kind := range []string{"valid", "invalid"} {
		files, _ := filepath.Glob(filepath.Join(plcVectors, kind, "*.json"))
		if len(files) == 0 {
			t.Fatal("interop vectors missing")
		}
		for _, f := range files {
			var entries []json.RawMessage
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			json.Unmarshal(b, &entries)
			for _, e := range entries {
				var h struct{ DID, CreatedAt string }
				json.Unmarshal(e, &h)
				var c bytes.Buffer
				json.Compact(&c, e)
				lines = append(lines, line{h.CreatedAt, c.Bytes()})
				if kind == "invalid" {
					invalid[h.DID] = true
				}
			}
		}
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].at < lines[j].at })
	var sb strings.Builder
	for _, l := range lines {
		sb.Write(l.raw)
		sb.WriteByte('\n')
	}
	return sb.String(), invalid
}

func TestPLCVerifyExportFindsExactlyTheInvalidDIDs(t *testing.T) {
	stream, invalid := exportStream(t)
	for _, workers := range []string{"1", "3"} {
		var res struct {
			DIDs    int `json:"dids"`
			Valid   int `json:"valid"`
			Invalid []struct {
				DID string `json:"did"`
			} `json:"invalid"`
		}
		f := filepath.Join(t.TempDir(), "export.jsonl")
		os.WriteFile(f, []byte(stream), 0o644)
		r := runPLCJSON(t, &res, "plc", "verify", "--export", f, "--workers", workers, "--json")
		if r.code != ExitFail || res.DIDs != 20 || res.Valid != 10 || len(res.Invalid) != len(invalid) {
			t.Fatalf("workers %s: exit %d, %+v", workers, r.code, res)
		}
		for _, i := range res.Invalid {
			if !invalid[i.DID] {
				t.Errorf("%s reported invalid, but it comes from a valid vector", i.DID)
			}
		}
	}
}

// plc verify --export --shard i/n: the n runs together validate each DID
// once and find the whole run's invalid DIDs; a bad --shard is a usage
// error.
func TestPLCVerifyExportShardsSplitTheDIDs(t *testing.T) {
	stream, invalid := exportStream(t)
	f := filepath.Join(t.TempDir(), "export.jsonl")
	os.WriteFile(f, []byte(stream), 0o644)
	var res plc.ExportReport
	dids, found := 0, map[string]int{}
	for _, sh := range []string{"0/3", "1/3", "2/3"} {
		r := runPLCJSON(t, &res, "plc", "verify", "--export", f, "--shard", sh, "--json")
		if (r.code == ExitFail) != (len(res.Invalid) > 0) || res.Shard != sh {
			t.Fatalf("shard %s: exit %d, %+v", sh, r.code, res)
		}
		dids += res.DIDs
		for _, i := range res.Invalid {
			found[i.DID]++
		}
	}
	if dids != 20 || len(found) != len(invalid) {
		t.Fatalf("%d DIDs, invalid %v; want 20 and %d", dids, found, len(invalid))
	}
	for did, n := range found {
		if n != 1 || !invalid[did] {
			t.Errorf("%s reported invalid %d times", did, n)
		}
	}
	for _, bad := range []string{"3/3", "1", "-1/2", "a/b", "0/0"} {
		if r := runPLC(t, "", "plc", "verify", "--export", f, "--shard", bad); r.code != ExitUsage {
			t.Errorf("--shard %s: exit %d", bad, r.code)
		}
	}
}

// goldenAuditLog serves a golden audit log like the directory does.
func TestPLCHistoryAndSubmitAgainstFakeDirectory(t *testing.T) {
	logBytes, err := os.ReadFile(filepath.Join(plcVectors, "valid", "log_bskyapp.json"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var posted []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/did:plc:z72i7hdynmk6r22z27h6tvur/log/audit":
			w.Header().Set("Content-Type", "application/json")
			w.Write(logBytes)
		case r.Method == http.MethodPost:
			mu.Lock()
			posted, _ = io.ReadAll(r.Body)
			mu.Unlock()
			w.WriteHeader(http.StatusOK)
		default:
			http.Error(w, `{"message":"DID not registered"}`, http.StatusNotFound)
		}
	}))
	defer srv.Close()
	r := runPLC(t, "", "plc", "history", "did:plc:z72i7hdynmk6r22z27h6tvur", "--plc-host", srv.URL)
	if r.code != 0 || !strings.Contains(r.stdout, "valid") || !strings.Contains(r.stdout, "bsky.app") {
		t.Fatalf("history: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	t.Setenv("ARBOR_PLC_HOST", srv.URL)
	wantOneLineError(t, runPLC(t, "", "plc", "history", "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"), ExitUsage, "404")

	dir := t.TempDir()
	rec, main := newKey(t, dir, "rec", false), newKey(t, dir, "main", false)
	opFile := filepath.Join(dir, "genesis.json")
	if r := runPLC(t, "", "plc", "genesis", "--rotation-key", rec.did, "--rotation-key", main.did, "--handle", "x.example.com", "--sign-with", main.file, "--out", opFile); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := runPLC(t, "", "plc", "submit", opFile); r.code != 0 {
		t.Fatalf("submit: %d %s", r.code, r.stderr)
	}
	op, err := plc.ParseOperation(posted)
	if err != nil || op.Sig == "" {
		t.Fatalf("posted %q: %v", posted, err)
	}
}

// TestPLCHistoryAndSubmitAgainstReferenceServer runs the reference
// directory (@did-plc/server with its in-memory database) on loopback:
// submit a genesis, an update and a rollback with arbor, and read the
// history back. It needs `npm ci` in golden/plc/gen (see its README).
func TestPLCHistoryAndSubmitAgainstReferenceServer(t *testing.T) {
	gen := filepath.Join("..", "golden", "plc", "gen")
	_, err := os.Stat(filepath.Join(gen, "node_modules", "@did-plc", "server"))
	needE2E(t, err == nil, "reference server not installed: run `npm ci` in golden/plc/gen")
	node, err := exec.LookPath("node")
	needE2E(t, err == nil, "node not installed")
	cmd := exec.Command(node, "server.js")
	cmd.Dir = gen
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() }()
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "listening ") {
		t.Fatalf("server did not start: %q", sc.Text())
	}
	host := "http://127.0.0.1:" + strings.TrimPrefix(sc.Text(), "listening ")
	t.Setenv("ARBOR_PLC_HOST", host)

	dir := t.TempDir()
	rec, main := newKey(t, dir, "rec", false), newKey(t, dir, "main", false)
	var g opOut
	runPLCJSON(t, &g, "plc", "genesis", "--rotation-key", rec.did, "--rotation-key", main.did, "--signing-key", main.did,
		"--handle", "ref.example.com", "--pds", "https://pds.example.com", "--sign-with", main.file, "--json")
	gFile := filepath.Join(dir, "g.json")
	b, _ := json.Marshal(g)
	os.WriteFile(gFile, b, 0o644)
	if r := runPLC(t, "", "plc", "submit", gFile); r.code != 0 {
		t.Fatalf("submit genesis: %s", r.stderr)
	}
	fetch := func() string {
		f := filepath.Join(dir, "audit.json")
		r := runPLC(t, "", "plc", "history", g.DID, "--raw")
		if r.code != 0 {
			t.Fatalf("history: %s", r.stderr)
		}
		os.WriteFile(f, []byte(r.stdout), 0o644)
		return f
	}
	var u opOut
	runPLCJSON(t, &u, "plc", "update", fetch(), "--handle", "hijack.example.com", "--sign-with", main.file, "--json")
	uFile := filepath.Join(dir, "u.json")
	b, _ = json.Marshal(u)
	os.WriteFile(uFile, b, 0o644)
	if r := runPLC(t, "", "plc", "submit", uFile); r.code != 0 {
		t.Fatalf("submit update: %s", r.stderr)
	}
	time.Sleep(20 * time.Millisecond)
	// the directory refuses what we would refuse: main cannot nullify its own op
	r := runPLC(t, "", "plc", "rollback", fetch(), "--last", "1", "--sign-with", main.file)
	wantOneLineError(t, r, ExitFail, "strictly higher priority")
	rbFile := filepath.Join(dir, "rb.json")
	if r := runPLC(t, "", "plc", "rollback", fetch(), "--last", "1", "--sign-with", rec.file, "--out", rbFile); r.code != 0 {
		t.Fatalf("rollback: %s", r.stderr)
	}
	time.Sleep(20 * time.Millisecond)
	if r := runPLC(t, "", "plc", "submit", rbFile, "--did", g.DID); r.code != 0 {
		t.Fatalf("submit rollback: %s", r.stderr)
	}
	var h struct {
		Valid   bool `json:"valid"`
		Entries []struct {
			Nullified bool   `json:"nullified"`
			Handle    string `json:"handle"`
		} `json:"entries"`
	}
	runPLCJSON(t, &h, "plc", "history", g.DID, "--json")
	if !h.Valid || len(h.Entries) != 3 || !h.Entries[1].Nullified || h.Entries[2].Handle != "ref.example.com" {
		t.Fatalf("history after rollback: %+v", h)
	}
	// a tampered operation: submit's own check refuses it, and with
	// --no-check the reference server refuses it too
	forged := filepath.Join(dir, "forged.json")
	os.WriteFile(forged, bytes.Replace(b, []byte("hijack.example.com"), []byte("forged.example.com"), 1), 0o644)
	wantOneLineError(t, runPLC(t, "", "plc", "submit", forged), ExitFail, "would be refused")
	wantOneLineError(t, runPLC(t, "", "plc", "submit", forged, "--no-check"), ExitFail, "directory refused")
}

// With every invalid interop DID on a --known-bad list, the export run
// passes and counts them apart; --known-bad alone is bad usage.
func TestPLCVerifyExportKnownBadListsPassTheRun(t *testing.T) {
	stream, invalid := exportStream(t)
	dir := t.TempDir()
	f := filepath.Join(dir, "export.jsonl")
	os.WriteFile(f, []byte(stream), 0o644)
	var dids []string
	for d := range invalid {
		dids = append(dids, d)
	}
	sort.Strings(dids)
	half := len(dids) / 2
	lists := []string{filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")}
	for i, part := range [][]string{dids[:half], dids[half:]} {
		b, _ := json.Marshal(part)
		os.WriteFile(lists[i], b, 0o644)
	}
	var res struct {
		Valid    int               `json:"valid"`
		Invalid  []json.RawMessage `json:"invalid"`
		KnownBad []struct {
			DID string `json:"did"`
		} `json:"knownBad"`
	}
	r := runPLCJSON(t, &res, "plc", "verify", "--export", f, "--known-bad", lists[0], "--known-bad", lists[1], "--json")
	if r.code != ExitOK || res.Valid != 10 || len(res.Invalid) != 0 || len(res.KnownBad) != len(invalid) {
		t.Fatalf("exit %d, %+v", r.code, res)
	}
	only := run(t, "", "plc", "verify", "--known-bad", lists[0], f)
	wantOneLineError(t, only, ExitUsage, "--known-bad goes with --export")
}
