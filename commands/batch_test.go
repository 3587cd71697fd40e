package commands

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/archive"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/plc"
)

// batchCorpus copies every CAR of golden/ and of testdata's corpus and
// invalid repositories into a folder, with two damaged copies of each (a
// byte flipped in the middle, and the file cut short by a third), and
// returns the folder and the copies' paths.
func batchCorpus(t *testing.T) (string, []string) {
	t.Helper()
	var srcs []string
	for _, top := range []string{filepath.Join(testfixtures.Root(t), "golden"), corpus(), filepath.Join(shared, "invalid-repos")} {
		filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".car") {
				srcs = append(srcs, p)
			}
			return nil
		})
	}
	if len(srcs) < 60 {
		t.Fatalf("only %d CAR files found", len(srcs))
	}
	dir := t.TempDir()
	var paths []string
	for i, src := range srcs {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		flipped := append([]byte(nil), b...)
		flipped[len(b)/2] ^= 0x40
		for j, data := range [][]byte{b, flipped, b[:len(b)*2/3]} {
			p := filepath.Join(dir, strings.ReplaceAll(strings.TrimSuffix(filepath.Base(src), ".car"), " ", "_")+
				"-"+string(rune('a'+i%26))+strings.Repeat("z", i/26)+"-"+[]string{"whole", "flipped", "cut"}[j]+".car")
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			paths = append(paths, p)
		}
	}
	return dir, paths
}

// parseBatch decodes verify --batch output: one line per repository, then
// the summary.
func parseBatch(t *testing.T, r result) ([]archive.BatchLine, archive.BatchSummary) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	var out []archive.BatchLine
	for _, l := range lines[:len(lines)-1] {
		var bl archive.BatchLine
		if err := json.Unmarshal([]byte(l), &bl); err != nil || bl.Summary != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		out = append(out, bl)
	}
	var last struct{ Summary *archive.BatchSummary }
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last.Summary == nil {
		t.Fatalf("last line %q is not a summary: %v", lines[len(lines)-1], err)
	}
	checkShape(t, []string{"verify", "--batch", "x"}, r.stdout)
	return out, *last.Summary
}

// Every line of verify --batch parses and says what verify FILE says of
// that file: the verdict its exit status gives, and with --json the same
// DID, rev, records, blocks and problems; for every CAR of golden/ and the
// corpus and two damaged copies of each. The summary counts them.
func TestVerifyBatchLinesMatchSingleFileVerdicts(t *testing.T) {
	dir, paths := batchCorpus(t)
	r := run(t, "", "verify", "--batch", dir)
	lines, sum := parseBatch(t, r)
	if len(lines) != len(paths) {
		t.Fatalf("%d lines for %d files", len(lines), len(paths))
	}
	verdicts := map[int]string{0: archive.VerdictValid, 1: archive.VerdictInvalid, 2: archive.VerdictUnreadable}
	count := map[string]int{}
	for _, l := range lines {
		count[l.Verdict]++
		var single archive.VerifyReport
		s := run(t, "", "verify", "--json", l.File)
		if verdicts[s.code] != l.Verdict {
			t.Errorf("%s: batch says %s, verify exits %d (%s)", l.File, l.Verdict, s.code, s.stderr)
			continue
		}
		if s.stdout == "" {
			continue // refused before a report: the verdict is all there is
		}
		if err := json.Unmarshal([]byte(s.stdout), &single); err != nil {
			t.Fatalf("%s: %v", l.File, err)
		}
		want := archive.BatchLine{File: l.File, Verdict: l.Verdict, Records: single.Records, Blocks: single.Blocks, Error: l.Error}
		if single.Commit != nil {
			want.DID, want.Rev = single.Commit.DID.String(), single.Commit.Rev.String()
		}
		if len(single.Problems) > 0 {
			want.Problems = single.Problems
		}
		if len(single.Warnings) > 0 {
			want.Warnings = single.Warnings
		}
		if !reflect.DeepEqual(l, want) {
			t.Errorf("%s:\nbatch  %+v\nsingle %+v", l.File, l, want)
		}
	}
	t.Logf("%d files: %v", len(paths), count)
	if count[archive.VerdictValid] == 0 || count[archive.VerdictInvalid] == 0 || count[archive.VerdictUnreadable] == 0 {
		t.Errorf("verdicts %v: the corpus should give all three", count)
	}
	if r.code != ExitFail || sum.Repos != len(paths) || sum.Valid != count[archive.VerdictValid] ||
		sum.Invalid != count[archive.VerdictInvalid] || sum.Unreadable != count[archive.VerdictUnreadable] {
		t.Errorf("exit %d, summary %+v, counted %v", r.code, sum, count)
	}
}

// The list forms give the folder's lines: a list file, and the list on
// standard input; --shard i/n over n runs verifies each path exactly once;
// a batch of valid repositories exits 0.
func TestVerifyBatchListsAndShards(t *testing.T) {
	golden := filepath.Join(testfixtures.Root(t), "golden", "repos")
	var list []string
	for _, n := range []string{"one", "ten", "r300", "p256-50", "empty"} {
		list = append(list, filepath.Join(golden, n+".car"))
	}
	listFile := filepath.Join(t.TempDir(), "list.txt")
	os.WriteFile(listFile, []byte("# repos\n"+strings.Join(list, "\n")+"\n\n"), 0o644)
	r := run(t, "", "verify", "--batch", listFile)
	fromFile, sum := parseBatch(t, r)
	if r.code != 0 || len(fromFile) != len(list) || sum.Valid != len(list) {
		t.Fatalf("list file: exit %d, %+v", r.code, sum)
	}
	for i, l := range fromFile {
		if l.File != list[i] || l.Verdict != archive.VerdictValid {
			t.Errorf("line %d: %+v, want %s valid", i, l, list[i])
		}
	}
	r = run(t, strings.Join(list, "\n"), "verify", "--batch", "-", "--workers", "1")
	if fromStdin, _ := parseBatch(t, r); !reflect.DeepEqual(fromStdin, fromFile) {
		t.Errorf("standard input gives other lines")
	}
	seen := map[string]int{}
	for i := 0; i < 3; i++ {
		r := run(t, "", "verify", "--batch", listFile, "--shard", []string{"0/3", "1/3", "2/3"}[i])
		lines, sum := parseBatch(t, r)
		if sum.Repos+sum.OtherShards != len(list) || sum.Shard != []string{"0/3", "1/3", "2/3"}[i] {
			t.Errorf("shard %d: %+v", i, sum)
		}
		for _, l := range lines {
			seen[l.File]++
		}
	}
	for _, p := range list {
		if seen[p] != 1 {
			t.Errorf("%s verified %d times over the shards", p, seen[p])
		}
	}
	runUsageErrors(t, []usageCase{
		{args: []string{"verify", "--batch", listFile, "--shard", "2/2"}, want: "--shard"},
		{args: []string{"verify", "--batch", listFile, "x.car"}, want: "usage"},
		{args: []string{"verify", "--batch", listFile, "--record", "a/b"}, want: "--batch"},
		{args: []string{"verify", list[0], "--shard", "0/2"}, want: "--batch"},
	})
}

// With --resolve, a --batch line may name an account (a DID, an at:// URI
// with a DID or a handle): it is fetched from the PDS its document names
// and checked against that document's key, as a listed file is checked
// against its commit's DID's. A PDS serving another account's repository,
// a document naming another key and a DID the directory lacks each fail
// their own line only; without --resolve an account in the list is bad
// usage.
func TestVerifyBatchResolveFetchesAccounts(t *testing.T) {
	good := newNetWorld(t, "")
	other := newNetWorld(t, genKey(t).DIDKey())
	// A second DID whose PDS serves the golden account's repository.
	const impostor = "did:plc:impostorimpostorimpostor"
	car, err := os.ReadFile(good.carPath)
	if err != nil {
		t.Fatal(err)
	}
	good.pds.Repos[impostor] = car
	signer := testfixtures.NewKey(t, false)
	signerPub, _ := signer.PublicKey()
	op, _, err := plc.NewGenesis(plc.GenesisParams{RotationKeys: []string{signerPub.DIDKey()}, SigningKey: genKey(t).DIDKey(), Handle: "impostor.test", PDS: good.pds.URL()}, signer)
	if err != nil {
		t.Fatal(err)
	}
	good.dir.Add(impostor, op)

	listFile := func(items ...string) string {
		p := filepath.Join(t.TempDir(), "list.txt")
		if err := os.WriteFile(p, []byte(strings.Join(items, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	type want struct {
		verdict string
		signed  bool
		text    string // in the line's error or problems
	}
	check := func(t *testing.T, r result, wants []want) {
		t.Helper()
		lines, sum := parseBatch(t, r)
		if len(lines) != len(wants) {
			t.Fatalf("%d lines for %d items: %s %s", len(lines), len(wants), r.stdout, r.stderr)
		}
		for i, w := range wants {
			l := lines[i]
			b, _ := json.Marshal(l)
			if l.Verdict != w.verdict || l.SignatureChecked != w.signed || !strings.Contains(string(b), w.text) {
				t.Errorf("line %d (%s): %s; want %s, signature checked %v, %q", i, l.File, b, w.verdict, w.signed, w.text)
			}
		}
		if sum.Repos != len(wants) {
			t.Errorf("summary %+v", sum)
		}
	}

	t.Run("accounts and files", func(t *testing.T) {
		list := listFile(good.did, "at://"+good.did+"/app.bsky.feed.post/3kaaaaaaaaaa2", "at://one.test", good.carPath,
			impostor, "did:plc:notinthedirectoryaaaaaaa")
		r := run(t, "", good.args("verify", "--batch", list, "--resolve")...)
		check(t, r, []want{
			{archive.VerdictValid, true, good.did},
			{archive.VerdictValid, true, good.did},
			{archive.VerdictValid, true, good.did},
			{archive.VerdictValid, true, good.did},
			{archive.VerdictInvalid, true, "document is for " + impostor},
			{archive.VerdictUnreadable, false, "not found"},
		})
		if r.code != ExitFail {
			t.Errorf("exit %d, want %d", r.code, ExitFail)
		}
	})
	t.Run("a document naming another key", func(t *testing.T) {
		r := run(t, "", other.args("verify", "--batch", listFile(other.did, other.carPath), "--resolve")...)
		check(t, r, []want{{archive.VerdictInvalid, true, "bad signature"}, {archive.VerdictInvalid, true, "bad signature"}})
	})
	t.Run("an account without --resolve", func(t *testing.T) {
		r := run(t, "", "verify", "--batch", listFile(good.carPath, good.did))
		wantOneLineError(t, r, ExitUsage, "give --resolve")
	})
}
