package commands

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// createFixture makes a work directory holding a k256 key file (from the
// W3C did:key vectors, as 64 hex digits) and returns it with the did:key
// that key must give.
func createFixture(t *testing.T) (dir, keyFile, didKey string) {
	t.Helper()
	vec := k256Vectors(t)
	dir = t.TempDir()
	keyFile = filepath.Join(dir, "k.key")
	if err := os.WriteFile(keyFile, []byte(vec[0].PrivateKeyBytesHex+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, keyFile, vec[0].PublicDidKey
}

// k256Vectors are the interop w3c did:key K-256 vectors: private keys in
// hex and the did:key each must give.
func k256Vectors(t *testing.T) []struct{ PrivateKeyBytesHex, PublicDidKey string } {
	t.Helper()
	var vec []struct{ PrivateKeyBytesHex, PublicDidKey string }
	if err := json.Unmarshal(testfixtures.Read(t, "interop", "crypto", "w3c_didkey_K256.json"), &vec); err != nil {
		t.Fatal(err)
	}
	return vec
}

// onlyFiles fails when dir holds anything but names.
func onlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for _, e := range ents {
		if !want[e.Name()] {
			t.Fatalf("%s was left in the output directory", e.Name())
		}
	}
}

const goodLine = `{"collection":"app.bsky.feed.post","rkey":"3jzfcijpj2z2a","record":{"$type":"app.bsky.feed.post","text":"hello","createdAt":"2024-01-01T00:00:00Z"}}`

// TestCreateExportRoundTripGivesTheSameRoot: export a reference-built repo,
// create from the directory, and the CLI reports the source's MST root; the
// result passes arbor verify with the key's did:key.
func TestCreateExportRoundTripGivesTheSameRoot(t *testing.T) {
	dir, keyFile, didKey := createFixture(t)
	src := filepath.Join("..", "golden", "repos", "r2000.car")
	var g struct{ DataCid, Did string }
	b, _ := os.ReadFile(filepath.Join("..", "golden", "repos", "r2000.json"))
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	exp := filepath.Join(dir, "exp")
	if r := run(t, "", "export", src, exp); r.code != 0 {
		t.Fatalf("export: %s", r.stderr)
	}
	out := filepath.Join(dir, "out.car")
	var res struct {
		Data, SigningKey, DID string
		Records               int
	}
	// Flags after the positional arguments.
	r := runJSON(t, &res, "create", out, exp, "--did", g.Did, "--key", keyFile, "--json")
	if r.code != 0 {
		t.Fatalf("create: exit %d: %s", r.code, r.stderr)
	}
	if res.Data != g.DataCid || res.SigningKey != didKey || res.Records != 2000 {
		t.Fatalf("got %+v, want data %s signed by %s", res, g.DataCid, didKey)
	}
	var v struct{ Valid, SignatureChecked bool }
	if r := runJSON(t, &v, "verify", out, "--key", didKey, "--json"); r.code != 0 || !v.Valid || !v.SignatureChecked {
		t.Fatalf("verify: exit %d %+v %s", r.code, v, r.stderr)
	}
}

// TestCreateTwiceGivesTheSameBytes, from stdin and from a file.
func TestCreateTwiceGivesTheSameBytes(t *testing.T) {
	dir, keyFile, _ := createFixture(t)
	input := goodLine + "\n" + `{"collection":"app.bsky.feed.like","record":{"$type":"app.bsky.feed.like","subject":{"uri":"at://did:plc:x/app.bsky.feed.post/1","cid":"bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a"}}}` + "\n"
	jsonl := filepath.Join(dir, "in.jsonl")
	os.WriteFile(jsonl, []byte(input), 0o644)
	a, b := filepath.Join(dir, "a.car"), filepath.Join(dir, "b.car")
	if r := run(t, "", "create", "--did", "did:plc:abcabcabcabcabcabcabcabc", "--key", keyFile, "--rev", "3ktt5626c222b", a, jsonl); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := run(t, input, "create", "--did", "did:plc:abcabcabcabcabcabcabcabc", "--key", keyFile, "--rev", "3ktt5626c222b", b, "-"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if len(ab) == 0 || !bytes.Equal(ab, bb) {
		t.Fatal("the same input gave different CARs")
	}
}

// TestCreateBadInput: each problem is one line naming the file and line (or
// the flag), exit 2, and no output file, temporary or not, is left.
func TestCreateBadInput(t *testing.T) {
	dir, keyFile, _ := createFixture(t)
	wrongKey := filepath.Join(dir, "wrong.key")
	os.WriteFile(wrongKey, []byte("not a key\n"), 0o600)
	cases := []struct {
		name  string
		lines string
		args  []string // extra flags; default --did/--key good
		want  string
	}{
		{"invalid NSID", `{"collection":"nope","rkey":"a","record":{"$type":"x.y.z"}}`, nil, "in.jsonl:2: nope/a: invalid record path"},
		{"invalid rkey", `{"collection":"app.bsky.feed.post","rkey":"a b","record":{"$type":"x.y.z"}}`, nil, "in.jsonl:2: "},
		{"record not an object", `{"collection":"app.bsky.feed.post","rkey":"a","record":[]}`, nil, "in.jsonl:2: app.bsky.feed.post/a: invalid record"},
		{"float", `{"collection":"app.bsky.feed.post","rkey":"a","record":{"$type":"x.y.z","f":0.5}}`, nil, "in.jsonl:2: invalid record: atproto json: floating point"},
		{"duplicate path", goodLine, nil, "duplicate record path: also at "},
		{"wrong key file", `{"collection":"app.bsky.feed.post","rkey":"b","record":{"$type":"x.y.z"}}`, []string{"--key", wrongKey}, "--key: key file"},
		{"did that is not a DID", `{"collection":"app.bsky.feed.post","rkey":"b","record":{"$type":"x.y.z"}}`, []string{"--did", "alice.bsky.social"}, "--did:"},
		{"rev that is not a TID", `{"collection":"app.bsky.feed.post","rkey":"b","record":{"$type":"x.y.z"}}`, []string{"--rev", "now"}, "--rev:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			in := filepath.Join(work, "in.jsonl")
			os.WriteFile(in, []byte(goodLine+"\n"+tc.lines+"\n"), 0o644)
			args := []string{"create", "--did", "did:plc:abcabcabcabcabcabcabcabc", "--key", keyFile}
			args = append(args, tc.args...)
			args = append(args, filepath.Join(work, "out.car"), in)
			r := run(t, "", args...)
			wantOneLineError(t, r, ExitUsage, tc.want)
			onlyFiles(t, work, "in.jsonl")
		})
	}
}

func TestCreateRefusesToOverwriteItsInput(t *testing.T) {
	dir, keyFile, _ := createFixture(t)
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte(goodLine+"\n"), 0o644)
	r := run(t, "", "create", "--did", "did:plc:abcabcabcabcabcabcabcabc", "--key", keyFile, in, in)
	wantOneLineError(t, r, ExitUsage, "in place")
	if b, _ := os.ReadFile(in); !strings.HasPrefix(string(b), "{") {
		t.Fatal("the input was overwritten")
	}
}

func TestCreateNeedsDIDAndKey(t *testing.T) {
	wantOneLineError(t, run(t, "", "create", "out.car", "-"), ExitUsage, "--did and --key are required")
}
