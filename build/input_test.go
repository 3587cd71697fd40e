package build

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/dagcbor"
)

// TestJSONLinesBadInputNamesFileAndLine: each bad line is reported with the
// file, its line, and the kind of problem.
func TestJSONLinesBadInputNamesFileAndLine(t *testing.T) {
	good := `{"collection":"app.bsky.feed.post","rkey":"a1","record":{"$type":"app.bsky.feed.post","text":"ok"}}`
	cases := []struct {
		name string
		line string
		want error
		path string // record path the error must name, if any
	}{
		{"collection not an NSID", `{"collection":"not_an_nsid","rkey":"a","record":{"$type":"x.y.z"}}`, ErrBadPath, "not_an_nsid/a"},
		{"collection with one segment", `{"collection":"post","rkey":"a","record":{"$type":"x.y.z"}}`, ErrBadPath, ""},
		{"rkey with a slash", `{"collection":"app.bsky.feed.post","rkey":"a/b","record":{"$type":"x.y.z"}}`, ErrBadPath, ""},
		{"rkey dot-dot", `{"collection":"app.bsky.feed.post","rkey":"..","record":{"$type":"x.y.z"}}`, ErrBadPath, ""},
		{"rkey with a space", `{"collection":"app.bsky.feed.post","rkey":"a b","record":{"$type":"x.y.z"}}`, ErrBadPath, ""},
		{"record is an array", `{"collection":"app.bsky.feed.post","rkey":"a","record":[1,2]}`, ErrBadRecord, "app.bsky.feed.post/a"},
		{"record is a string", `{"collection":"app.bsky.feed.post","rkey":"a","record":"hello"}`, ErrBadRecord, ""},
		{"record without $type", `{"collection":"app.bsky.feed.post","rkey":"a","record":{"text":"x"}}`, ErrBadRecord, ""},
		{"float in record", `{"collection":"app.bsky.feed.post","rkey":"a","record":{"$type":"x.y.z","n":1.5}}`, ErrBadRecord, ""},
		{"exponent in record", `{"collection":"app.bsky.feed.post","rkey":"a","record":{"$type":"x.y.z","n":1e3}}`, ErrBadRecord, ""},
		{"bad $link", `{"collection":"app.bsky.feed.post","rkey":"a","record":{"$type":"x.y.z","l":{"$link":"nope"}}}`, ErrBadRecord, ""},
		{"blob without size", `{"collection":"app.bsky.feed.post","rkey":"a","record":{"$type":"x.y.z","b":{"$type":"blob","ref":{"$link":"bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity"},"mimeType":"image/png"}}}`, ErrBadRecord, ""},
		{"no record", `{"collection":"app.bsky.feed.post","rkey":"a"}`, ErrBadLine, ""},
		{"no collection", `{"rkey":"a","record":{"$type":"x.y.z"}}`, ErrBadLine, ""},
		{"unknown field", `{"collection":"app.bsky.feed.post","rkey":"a","record":{"$type":"x.y.z"},"uri":"at://x"}`, ErrBadLine, ""},
		{"rkey a number", `{"collection":"app.bsky.feed.post","rkey":5,"record":{"$type":"x.y.z"}}`, ErrBadLine, ""},
		{"not JSON", `{"collection":`, ErrBadLine, ""},
		{"line is an array", `[1]`, ErrBadLine, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := good + "\n\n" + tc.line + "\n" + good + "\n"
			_, err := LoadJSONLines(strings.NewReader(in), "recs.jsonl")
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("got %v, want an *InputError", err)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if ie.File != "recs.jsonl" || ie.Line != 3 {
				t.Fatalf("error at %s:%d, want recs.jsonl:3 (%v)", ie.File, ie.Line, err)
			}
			if !strings.HasPrefix(err.Error(), "recs.jsonl:3: ") {
				t.Fatalf("message %q does not start with the place", err)
			}
			if tc.path != "" && ie.Path != tc.path {
				t.Fatalf("path %q, want %q", ie.Path, tc.path)
			}
		})
	}
}

// TestJSONLinesReportsTheEarliestBadLine: with many bad lines spread over
// many batches, the first one is reported, whatever the worker timing.
func TestJSONLinesReportsTheEarliestBadLine(t *testing.T) {
	var b strings.Builder
	for i := 1; i <= 5000; i++ {
		if i == 1234 || i == 3000 || i == 4999 {
			b.WriteString(`{"collection":"bad","rkey":"a","record":{"$type":"x.y.z"}}` + "\n")
			continue
		}
		b.WriteString(`{"collection":"app.bsky.feed.post","record":{"$type":"app.bsky.feed.post"}}` + "\n")
	}
	for range 5 {
		_, err := LoadJSONLines(strings.NewReader(b.String()), "f")
		var ie *InputError
		if !errors.As(err, &ie) || ie.Line != 1234 {
			t.Fatalf("got %v, want the error of line 1234", err)
		}
	}
}

// TestRecordSizeLimitIsOneMiB: a record of exactly 1 MiB of DAG-CBOR is
// accepted, one byte more is not.
func TestRecordSizeLimitIsOneMiB(t *testing.T) {
	// {"$type": "x.y.z", "t": "aaa..."}: the map head (1), "$type" (6),
	// "x.y.z" (6), "t" (2), and the string's head (5 bytes for a length of
	// 65536 or more) before its n bytes.
	const overhead = 1 + 6 + 6 + 2 + 5
	for _, tc := range []struct {
		size int
		ok   bool
	}{{MaxRecordSize, true}, {MaxRecordSize + 1, false}} {
		n := tc.size - overhead
		line := `{"collection":"app.bsky.feed.post","rkey":"a","record":{"$type":"x.y.z","t":"` + strings.Repeat("a", n) + `"}}`
		recs, err := LoadJSONLines(strings.NewReader(line), "big.jsonl")
		if tc.ok {
			if err != nil {
				t.Fatalf("size %d: %v", tc.size, err)
			}
			if len(recs[0].Data) != tc.size {
				t.Fatalf("record is %d bytes, the test meant %d", len(recs[0].Data), tc.size)
			}
			continue
		}
		if !errors.Is(err, ErrRecordTooLarge) {
			t.Fatalf("size %d: got %v, want ErrRecordTooLarge", tc.size, err)
		}
	}
}

// TestDataModelVectors runs the interop data-model vectors through record
// parsing. The vectors are not all records, so each document gets a $type
// at the top when it has none; the invalid ones must then still fail, and
// the valid ones pass.
func TestDataModelVectors(t *testing.T) {
	for _, file := range []string{"data-model-valid.json", "data-model-invalid.json"} {
		var vs []struct {
			Note string
			JSON json.RawMessage
		}
		readJSON(t, interop("data-model", file), &vs)
		valid := file == "data-model-valid.json"
		for _, v := range vs {
			t.Run(file+"/"+v.Note, func(t *testing.T) {
				var compact bytes.Buffer
				if err := json.Compact(&compact, v.JSON); err != nil {
					t.Fatal(err)
				}
				doc := compact.String()
				var top map[string]json.RawMessage
				if json.Unmarshal(v.JSON, &top) == nil && top["$type"] == nil {
					doc = `{"$type":"com.example.record",` + strings.TrimPrefix(doc, "{")
				}
				line := `{"collection":"com.example.record","rkey":"a","record":` + doc + "}"
				_, err := LoadJSONLines(strings.NewReader(line), "v")
				if valid && err != nil {
					t.Fatalf("valid document rejected: %v", err)
				}
				if !valid && err == nil {
					t.Fatalf("invalid document accepted: %s", doc)
				}
			})
		}
	}
}

// TestPathSyntaxVectors checks CheckPath against the interop NSID and record
// key vectors.
func TestPathSyntaxVectors(t *testing.T) {
	for _, tc := range []struct {
		file  string
		valid bool
		path  func(s string) (string, string)
	}{
		{"nsid_syntax_valid.txt", true, func(s string) (string, string) { return s, "self" }},
		{"nsid_syntax_invalid.txt", false, func(s string) (string, string) { return s, "self" }},
		{"recordkey_syntax_valid.txt", true, func(s string) (string, string) { return "com.example.record", s }},
		{"recordkey_syntax_invalid.txt", false, func(s string) (string, string) { return "com.example.record", s }},
	} {
		f, err := os.Open(interop("syntax", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		n := 0
		for sc.Scan() {
			s := sc.Text()
			if s == "" || strings.HasPrefix(s, "#") {
				continue
			}
			n++
			coll, rkey := tc.path(s)
			err := CheckPath(coll, rkey)
			if tc.valid && err != nil {
				t.Errorf("%s: %q rejected: %v", tc.file, s, err)
			}
			if !tc.valid && err == nil {
				t.Errorf("%s: %q accepted", tc.file, s)
			}
			if err != nil && !errors.Is(err, ErrBadPath) {
				t.Errorf("%s: %q: error %v does not wrap ErrBadPath", tc.file, s, err)
			}
		}
		f.Close()
		if n == 0 {
			t.Fatalf("%s: no vectors", tc.file)
		}
	}
}

// TestDirBadLayout: files that do not fit COLLECTION/RKEY.json are refused
// by name; a bad record names its file and the line of the problem.
func TestDirBadLayout(t *testing.T) {
	rec := `{"$type": "app.bsky.feed.post", "text": "hi"}`
	cases := []struct {
		name  string
		files map[string]string
		want  error
		file  string
		line  int
	}{
		{"file at the top", map[string]string{"notes.txt": "x"}, ErrBadLayout, "notes.txt", 0},
		{"nested directory", map[string]string{"app.bsky.feed.post/sub/a.json": rec}, ErrBadLayout, "app.bsky.feed.post/sub", 0},
		{"not .json", map[string]string{"app.bsky.feed.post/a.txt": rec}, ErrBadLayout, "app.bsky.feed.post/a.txt", 0},
		{"collection not an NSID", map[string]string{"posts/a.json": rec}, ErrBadPath, "posts/a.json", 0},
		{"float on line 3", map[string]string{"app.bsky.feed.post/a.json": "{\n  \"$type\": \"app.bsky.feed.post\",\n  \"n\": 0.5\n}"}, ErrBadRecord, "app.bsky.feed.post/a.json", 3},
		{"not an object", map[string]string{"app.bsky.feed.post/a.json": "[]"}, ErrBadRecord, "app.bsky.feed.post/a.json", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := LoadDir(dir)
			var ie *InputError
			if !errors.Is(err, tc.want) || !errors.As(err, &ie) {
				t.Fatalf("got %v, want %v in an InputError", err, tc.want)
			}
			if ie.File != filepath.Join(dir, tc.file) || ie.Line != tc.line {
				t.Fatalf("error at %s:%d, want %s:%d", ie.File, ie.Line, tc.file, tc.line)
			}
		})
	}
}

// TestDirSkipsTheCommitFile: the _commit.json arbor export writes is not a
// record.
func TestDirSkipsTheCommitFile(t *testing.T) {
	dir, src := exportDir(t, golden("repos", "ten.car"))
	if _, err := os.Stat(filepath.Join(dir, CommitFile)); err != nil {
		t.Fatalf("export wrote no %s: %v", CommitFile, err)
	}
	recs, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := src.Inspect()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != st.Records {
		t.Fatalf("%d records, the repo has %d", len(recs), st.Records)
	}
}

// FuzzLoadJSONLines: no input makes the loader panic, and whatever it
// accepts encodes to valid DAG-CBOR.
func FuzzLoadJSONLines(f *testing.F) {
	f.Add(`{"collection":"app.bsky.feed.post","rkey":"a","record":{"$type":"x.y.z","b":{"$bytes":"AAE"}}}`)
	f.Add(`{"collection":"a.b.c","record":{"$type":"x","l":{"$link":"bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a"}}}`)
	f.Add("\n\n{}\n[")
	f.Fuzz(func(t *testing.T, s string) {
		recs, err := LoadJSONLines(strings.NewReader(s), "fuzz")
		if err != nil {
			return
		}
		for _, r := range recs {
			if err := dagcbor.Validate(r.Data); err != nil {
				t.Fatalf("accepted record does not validate: %v", err)
			}
		}
	})
}

// TestPlainRecordKeyAgreesWithSyntax: the fast path never accepts a key the
// atproto syntax package refuses, on the interop vectors and edge cases.
func TestPlainRecordKeyAgreesWithSyntax(t *testing.T) {
	keys := []string{"", ".", "..", "...", "a", strings.Repeat("a", 512), strings.Repeat("a", 513), "a/b", "a b", "é", "self", "3jzfcijpj2z2a", "~:_.-"}
	for _, f := range []string{"recordkey_syntax_valid.txt", "recordkey_syntax_invalid.txt"} {
		b, err := os.ReadFile(interop("syntax", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if l != "" && !strings.HasPrefix(l, "#") {
				keys = append(keys, l)
			}
		}
	}
	for _, k := range keys {
		_, err := syntax.ParseRecordKey(k)
		if plainRecordKey(k) && err != nil {
			t.Errorf("%q: fast path accepts, syntax refuses: %v", k, err)
		}
	}
}
