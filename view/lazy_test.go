package view

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/archive"
)

// readLazy reads a CAR with archive.ReadLazy from its file, which
// stays open until the test ends, as arbor view does with a file.
func readLazy(t testing.TB, path string) *archive.Lazy {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	a, err := archive.ReadLazy(f, archive.Options{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if !a.FromFile() {
		t.Fatalf("%s: not read lazily", path)
	}
	return a
}

// rawGet returns the status and body of a request.
func rawGet(t *testing.T, ts *httptest.Server, path string, params url.Values) (int, []byte) {
	t.Helper()
	resp, err := http.Get(ts.URL + path + "?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := readBody(&b, resp); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b.Bytes()
}

// A server over archives that fetch record bodies from their files answers
// every request exactly as one over archives that keep them: records (their
// JSON, links between records, field changes of a diff), nodes and paths.
func TestAPIAnswersTheSameWhenBodiesStayInTheFile(t *testing.T) {
	type pair struct {
		name  string
		files []string
		paths []string // records to ask for
	}
	var cases []pair
	for _, name := range canonicalGolden {
		g, _ := loadGolden(t, name)
		p := pair{name: name, files: []string{filepath.Join(goldenDir, name+".car")}}
		for _, r := range g.Records {
			p.paths = append(p.paths, r.Path)
		}
		cases = append(cases, p)
	}
	diffs, err := filepath.Glob(filepath.Join("..", "golden", "diffs", "*", "expected.json"))
	if err != nil || len(diffs) == 0 {
		t.Fatalf("no golden diffs: %v", err)
	}
	for _, exp := range diffs {
		dir := filepath.Dir(exp)
		p := pair{name: "diff " + filepath.Base(dir), files: []string{filepath.Join(dir, "old.car"), filepath.Join(dir, "new.car")}}
		var exp struct{ Creates, Updates, Deletes []struct{ Path string } }
		b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &exp); err != nil {
			t.Fatal(err)
		}
		for _, ops := range [][]struct{ Path string }{exp.Creates, exp.Updates, exp.Deletes} {
			for _, o := range ops {
				p.paths = append(p.paths, o.Path)
			}
		}
		cases = append(cases, p)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var kept, lazy []Input
			for _, f := range c.files {
				kept = append(kept, Input{Name: filepath.Base(f), Archive: readCAR(t, f)})
				lazy = append(lazy, Input{Name: filepath.Base(f), Archive: readLazy(t, f)})
			}
			ks, ls := newTestServer(t, Options{}, kept...), newTestServer(t, Options{}, lazy...)
			sides := []string{"a", "b"}[:len(c.files)]
			reqs := []struct {
				path   string
				params url.Values
			}{{"/api/commit", nil}, {"/api/collections", nil}, {"/api/node", nil}}
			for _, p := range c.paths {
				for _, sd := range sides {
					reqs = append(reqs, struct {
						path   string
						params url.Values
					}{"/api/record", url.Values{"path": {p}, "side": {sd}}})
				}
			}
			ok := 0
			for _, r := range reqs {
				kc, kb := rawGet(t, ks, r.path, r.params)
				lc, lb := rawGet(t, ls, r.path, r.params)
				if kc != lc || !bytes.Equal(kb, lb) {
					t.Fatalf("%s %v: kept %d %s; lazy %d %s", r.path, r.params, kc, kb, lc, lb)
				}
				if kc == http.StatusOK && r.path == "/api/record" {
					ok++
				}
			}
			if len(c.paths) > 0 && ok == 0 {
				t.Error("no record was served")
			}
		})
	}
}

// A record whose bytes changed in the file after arbor view read it is an
// error that says so, never other data.
func TestAPIRecordFromAChangedFileIsAnError(t *testing.T) {
	g, _ := loadGolden(t, "r300")
	data, err := os.ReadFile(filepath.Join(goldenDir, "r300.car"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "r300.car")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, Options{}, Input{Name: "r300.car", Archive: readLazy(t, p)})
	path := g.Records[0].Path
	if code, b := rawGet(t, ts, "/api/record", url.Values{"path": {path}}); code != http.StatusOK {
		t.Fatalf("before the change: %d %s", code, b)
	}
	// Overwrite everything after the MST nodes and commit (which are kept)
	// with other bytes: every record body changes, the file's size does not.
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xa0}, len(data)/2), int64(len(data)/2)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	changed := 0
	for _, r := range g.Records {
		code, b := rawGet(t, ts, "/api/record", url.Values{"path": {r.Path}})
		if code == http.StatusOK {
			continue
		}
		var e struct{ Error string }
		json.Unmarshal(b, &e)
		if code != http.StatusInternalServerError || !strings.Contains(e.Error, archive.ErrFileChanged.Error()) || !strings.Contains(e.Error, r.Path) {
			t.Errorf("%s: %d %s", r.Path, code, b)
		}
		changed++
	}
	if changed == 0 {
		t.Error("no record read from the changed half of the file was an error")
	}
}
