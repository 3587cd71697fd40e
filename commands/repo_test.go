package commands

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/identity"
)

// inspectJSON is the part of `inspect --json` the tests look at.
type inspectJSON struct {
	Root     string `json:"root"`
	BareTree bool   `json:"bareTree"`
	Commit   *struct {
		DID     string `json:"did"`
		Version int    `json:"version"`
		Rev     string `json:"rev"`
		CID     string `json:"cid"`
		Data    string `json:"data"`
	} `json:"commit"`
	Records     int `json:"records"`
	Blocks      int `json:"blocks"`
	MSTNodes    int `json:"mstNodes"`
	Collections []struct {
		Collection string `json:"collection"`
		Records    int    `json:"records"`
	} `json:"collections"`
	Unreferenced []string `json:"unreferencedBlocks"`
	Missing      []string `json:"missingBlocks"`
}

// The counts come from shared/corpus/PROVENANCE.md, which was written from
// an independent parse of each file.
func TestInspectCorpusCountsMatchProvenance(t *testing.T) {
	cases := []struct {
		file            string
		did             string
		version, blocks int
		mstNodes        int // -1: not stated
		records         int // -1: not stated
	}{
		{corpus("indigo", "testing", "testdata", "greenground.repo.car"), "did:plc:kzcqyc3u", 3, 4, 1, 2},
		{corpus("indigo", "atproto", "repo", "testdata", "bnewbold.robocracy.org.20250310005405.car"), "did:plc:nhxcyu4ewwhl5pqil4dotqjo", 3, 56, 17, -1},
		{corpus("rsky", "rsky-repo", "resources", "test", "valid_repo.car"), "did:plc:r7fdhqmw3h2cifeakw5hmvy6", 3, 12, 5, -1},
		{corpus("arroba", "arroba", "tests", "snarfed2.car"), "did:plc:5zspv27pk4iqtrl2ql2nykjh", 3, 8, -1, 5},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			var got inspectJSON
			r := runJSON(t, &got, "inspect", c.file, "--json")
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if got.Commit == nil || !strings.HasPrefix(got.Commit.DID, c.did) || got.Commit.Version != c.version {
				t.Fatalf("commit = %+v, want did %s version %d", got.Commit, c.did, c.version)
			}
			if got.Blocks != c.blocks {
				t.Errorf("blocks = %d, want %d", got.Blocks, c.blocks)
			}
			if c.mstNodes >= 0 && got.MSTNodes != c.mstNodes {
				t.Errorf("mst nodes = %d, want %d", got.MSTNodes, c.mstNodes)
			}
			if c.records >= 0 && got.Records != c.records {
				t.Errorf("records = %d, want %d", got.Records, c.records)
			}
			if len(got.Missing) != 0 || len(got.Unreferenced) != 0 {
				t.Errorf("a full export has missing %v and unreferenced %v blocks", got.Missing, got.Unreferenced)
			}
		})
	}
}

// snarfed2.json holds the records of snarfed2.car as arroba's tests expect
// them (links in the DAG-JSON {"/": cid} form).
func TestExportMatchesArrobaExpectedRecords(t *testing.T) {
	raw, err := os.ReadFile(corpus("arroba", "arroba", "tests", "snarfed2.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]map[string]any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r := run(t, "", "export", corpus("arroba", "arroba", "tests", "snarfed2.car"), dir)
	if r.code != 0 {
		t.Fatalf("export: exit %d: %s", r.code, r.stderr)
	}
	n := 0
	for coll, recs := range want {
		for rkey, rec := range recs {
			n++
			b, err := os.ReadFile(filepath.Join(dir, coll, rkey+".json"))
			if err != nil {
				t.Fatalf("record %s/%s not exported: %v", coll, rkey, err)
			}
			var got any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if w := dagJSONLinks(rec); !reflect.DeepEqual(got, w) {
				t.Errorf("%s/%s = %v, want %v", coll, rkey, got, w)
			}
		}
	}
	var files int
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Base(p) != "_commit.json" {
			files++
		}
		return nil
	})
	if files != n {
		t.Errorf("exported %d record files, want %d", files, n)
	}
	if _, err := os.Stat(filepath.Join(dir, "_commit.json")); err != nil {
		t.Errorf("no _commit.json: %v", err)
	}
}

// dagJSONLinks rewrites DAG-JSON links {"/": cid} into the atproto form.
func dagJSONLinks(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if l, ok := x["/"]; ok && len(x) == 1 {
			return map[string]any{"$link": l}
		}
		out := map[string]any{}
		for k, e := range x {
			out[k] = dagJSONLinks(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = dagJSONLinks(e)
		}
		return out
	}
	return v
}

// repo_slice.car is an inclusion proof for one record; the expected record
// and its CID come from indigo's test data.
func TestGetRecordFromProofSlice(t *testing.T) {
	raw, err := os.ReadFile(corpus("indigo", "testing", "testdata", "repo_slice_record.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		CID   string `json:"cid"`
		URI   string `json:"uri"`
		Value any    `json:"value"`
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	var got struct {
		URI   string `json:"uri"`
		CID   string `json:"cid"`
		Value any    `json:"value"`
	}
	r := runJSON(t, &got, "get", "--json", corpus("indigo", "testing", "testdata", "repo_slice.car"), want.URI)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if got.CID != want.CID || got.URI != want.URI {
		t.Fatalf("got %s %s, want %s %s", got.URI, got.CID, want.URI, want.CID)
	}
	if !reflect.DeepEqual(got.Value, want.Value) {
		t.Fatalf("value = %v\nwant %v", got.Value, want.Value)
	}
}

func TestGetMissingRecordExitsOne(t *testing.T) {
	r := run(t, "", "get", corpus("arroba", "arroba", "tests", "snarfed2.car"), "app.bsky.feed.post/3zzzzzzzzzzzz")
	wantOneLineError(t, r, ExitFail, "no record")
}

func TestLsListsRecordsInKeyOrder(t *testing.T) {
	r := run(t, "", "ls", corpus("arroba", "arroba", "tests", "snarfed2.car"))
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	want := []string{
		"app.bsky.actor.profile/self",
		"app.bsky.feed.like/3lbkj25b7pi2l",
		"app.bsky.graph.follow/3l2dwxdp22d2q",
		"app.bsky.graph.follow/3l73bi5dczu2g",
		"chat.bsky.actor.declaration/self",
	}
	if len(lines) != len(want) {
		t.Fatalf("ls printed %d lines, want %d:\n%s", len(lines), len(want), r.stdout)
	}
	for i, l := range lines {
		path, c, ok := strings.Cut(l, "\t")
		if !ok || path != want[i] || !strings.HasPrefix(c, "bafyrei") {
			t.Errorf("line %d = %q, want %s<TAB>cid", i, l, want[i])
		}
	}
	// --collection filters, and flags work after the file argument.
	r = run(t, "", "ls", corpus("arroba", "arroba", "tests", "snarfed2.car"), "--collection", "app.bsky.graph.follow")
	if got := strings.Count(r.stdout, "\n"); r.code != 0 || got != 2 {
		t.Fatalf("--collection: exit %d, %d lines: %s", r.code, got, r.stdout+r.stderr)
	}
}

func TestLsReadsStandardInput(t *testing.T) {
	b, err := os.ReadFile(corpus("indigo", "testing", "testdata", "greenground.repo.car"))
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, string(b), "ls", "-")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 2 {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// Every full export in the corpus verifies, with its signature where a key
// for it is known (from indigo's DID documents, or for greenground the key
// of a document indigo's own tests use for it although it names another
// DID).
func TestVerifyCorpusExports(t *testing.T) {
	td := corpus("indigo", "testing", "testdata")
	keyOf := func(doc string) string {
		b, err := os.ReadFile(filepath.Join(td, doc))
		if err != nil {
			t.Fatal(err)
		}
		_, k, err := identity.SigningKeyFromDIDDocument(b)
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		return k.DIDKey()
	}
	cases := []struct {
		file string
		args []string
		warn string
	}{
		{corpus("indigo", "atproto", "repo", "testdata", "bnewbold.robocracy.org.20250310005405.car"), nil, ""},
		{filepath.Join(td, "greenground.repo.car"), []string{"--key", keyOf("greenground.didDoc.json")}, ""},
		{filepath.Join(td, "paul_staging.repo.car"), []string{"--did-doc", filepath.Join(td, "paul_staging.didDoc.json")}, ""},
		{filepath.Join(td, "fakermaker.repo.car"), []string{"--did-doc", filepath.Join(td, "fakermaker.didDoc.json")}, "high-S"},
		{filepath.Join(td, "divy.repo"), nil, ""},
		{corpus("arroba", "arroba", "tests", "snarfed2.car"), nil, ""},
		{corpus("rsky", "rsky-repo", "resources", "test", "valid_repo.car"), nil, ""},
	}
	for i := 1; i <= 7; i++ {
		m, _ := filepath.Glob(corpus("dnproto", "test", "mst", fmt.Sprintf("msttest-%02d-*.car", i)))
		if len(m) != 1 {
			t.Fatalf("msttest-%02d: %v", i, m)
		}
		cases = append(cases, struct {
			file string
			args []string
			warn string
		}{m[0], nil, ""})
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			var got struct {
				Valid            bool     `json:"valid"`
				SignatureChecked bool     `json:"signatureChecked"`
				Warnings         []string `json:"warnings"`
				Problems         []any    `json:"problems"`
			}
			r := runJSON(t, &got, append([]string{"verify", "--json", c.file}, c.args...)...)
			if r.code != 0 || !got.Valid || got.SignatureChecked != (c.args != nil) {
				t.Fatalf("exit %d, %+v, stderr %s", r.code, got, r.stderr)
			}
			if (c.warn != "") != (len(got.Warnings) > 0) || (c.warn != "" && !strings.Contains(got.Warnings[0], c.warn)) {
				t.Fatalf("warnings %q, want one mentioning %q", got.Warnings, c.warn)
			}
		})
	}
}
