package build

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/archive"

	"github.com/arbor-atproto/arbor/dagcbor"
)

const testLink = "bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity"

// TestDirectPathGivesWhatValuesGive: for lines the direct path (JSON
// transcoded to DAG-CBOR, checked on the CBOR) takes, the record is the one
// the data-model path (FromJSON, EncodeRecord) makes; lines it refuses go
// to that path, which accepts or rejects them.
func TestDirectPathGivesWhatValuesGive(t *testing.T) {
	cases := []struct {
		name   string
		line   string
		direct bool // the direct path must take it
	}{
		{"post", `{"collection":"app.bsky.feed.post","rkey":"3jx2sj3hs2222","record":{"$type":"app.bsky.feed.post","text":"hi","createdAt":"2024-01-01T00:00:00.000Z","langs":["en"]}}`, true},
		{"envelope keys in another order", `{"record":{"$type":"app.bsky.feed.post","text":"hi"},"rkey":"a","collection":"app.bsky.feed.post"}`, true},
		{"blob, link, bytes and escapes", `{"collection":"app.bsky.feed.post","rkey":"b","record":{"$type":"app.bsky.feed.post","text":"\u00e9\n\"","l":{"$link":"` + testLink + `"},"by":{"$bytes":"AQID"},"img":{"$type":"blob","ref":{"$link":"` + testLink + `"},"mimeType":"image/png","size":3}}}`, true},
		{"no rkey", `{"collection":"app.bsky.feed.post","record":{"$type":"app.bsky.feed.post"}}`, true},
		{"null rkey", `{"collection":"app.bsky.feed.post","rkey":null,"record":{"$type":"app.bsky.feed.post"}}`, true},
		{"empty rkey", `{"collection":"app.bsky.feed.post","rkey":"","record":{"$type":"app.bsky.feed.post"}}`, true},
		{"integer written 1.0", `{"collection":"app.bsky.feed.post","rkey":"c","record":{"$type":"app.bsky.feed.post","n":1.0}}`, true},
		{"unseen collection", `{"collection":"com.example.thing","rkey":"d","record":{"$type":"com.example.thing"}}`, false},
		{"rkey outside the plain alphabet", `{"collection":"app.bsky.feed.post","rkey":"a b","record":{"$type":"x.y.z"}}`, false},
		{"record not an object", `{"collection":"app.bsky.feed.post","rkey":"a","record":[1]}`, false},
		{"record without $type", `{"collection":"app.bsky.feed.post","rkey":"a","record":{"text":"x"}}`, false},
		{"unknown envelope field", `{"collection":"app.bsky.feed.post","rkey":"a","record":{"$type":"x.y.z"},"x":1}`, false},
		{"rkey a number", `{"collection":"app.bsky.feed.post","rkey":1,"record":{"$type":"x.y.z"}}`, false},
		{"float", `{"collection":"app.bsky.feed.post","rkey":"a","record":{"$type":"x.y.z","n":1.5}}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			it := rawItem{file: "f.jsonl", line: 7, envelope: true, data: []byte(c.line)}
			w := worker{pc: pathChecker{"app.bsky.feed.post": true}}
			var out outBatch
			took := false
			if enc, err := w.tr.AppendCBOR(nil, it.data); err == nil {
				took = w.direct(&it, enc, &out)
			}
			if took != c.direct {
				t.Fatalf("direct path took it: %v, want %v", took, c.direct)
			}
			want, werr := convertValues(&it, pathChecker{})
			out = outBatch{}
			gerr := w.convert(&it, &out)
			if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
				t.Fatalf("convert error %v, data-model path %v", gerr, werr)
			}
			if werr != nil {
				return
			}
			r := out.recs[0]
			got := Record{Collection: string(out.keys[r.kstart : r.kstart+int(r.m.coll)]), Data: out.bodies[r.bstart:r.bend],
				CID: dagcbor.CIDFromDigest(uint64(r.m.codec), r.m.digest), File: r.file, Line: int(r.m.line)}
			if k := out.keys[r.kstart:r.kend]; len(k) > int(r.m.coll) {
				got.RKey = string(k[r.m.coll+1:])
			}
			if got.Collection != want.Collection || got.RKey != want.RKey || got.CID != want.CID ||
				!bytes.Equal(got.Data, want.Data) || got.File != want.File || got.Line != want.Line {
				t.Fatalf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestKeyOrderIsPathOrder: records sort by their whole path, bytewise, also
// when a collection is a prefix of another ("a.b.c/..." sorts after
// "a.b.c.d/..." because '.' < '/'), duplicates in input order.
func TestKeyOrderIsPathOrder(t *testing.T) {
	colls := []string{"com.example.foo", "com.example.foo.bar", "com.example.fo", "com.example.foo-x.y", "app.bsky.feed.post"}
	rkeys := []string{"a", "aa", "b", "3jx2sj3hs2222", "3jx2sj3hs2223", "3jx2sj3hs222", "zzzzzzzzzzz", "A", "a.b", "a-b", "a~", "self"}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		s := &RecordSet{}
		n := 1 + rng.IntN(300)
		for i := range n {
			key := colls[rng.IntN(len(colls))] + "/" + rkeys[rng.IntN(len(rkeys))]
			coll, _, _ := strings.Cut(key, "/")
			s.add(recMeta{line: int64(i + 1), coll: uint32(len(coll))}, nil, []byte(key), "f")
		}
		got := s.keyOrder()
		want := make([]int32, n)
		for i := range want {
			want[i] = int32(i)
		}
		slices.SortStableFunc(want, func(a, b int32) int { return bytes.Compare(s.key(int(a)), s.key(int(b))) })
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: keyOrder differs from bytewise path order", round)
		}
	}
}

// TestCreateWithPrefixCollectionsVerifies: a collection that is a prefix of
// another no longer trips the MST builder.
func TestCreateWithPrefixCollectionsVerifies(t *testing.T) {
	lines := `{"collection":"com.example.foo","rkey":"a","record":{"$type":"com.example.foo"}}
{"collection":"com.example.foo.bar","rkey":"a","record":{"$type":"com.example.foo.bar"}}
{"collection":"com.example.foo","rkey":"b","record":{"$type":"com.example.foo","n":1}}
`
	out, res := createFromLines(t, lines)
	rep, err := readArchive(t, out).Verify(archive.VerifyOptions{})
	if err != nil || !rep.Valid() || rep.Records != 3 || res.Records != 3 {
		t.Fatalf("verify: %v, %+v", err, rep)
	}
}

// TestCreateWritesARepeatedRecordOnce: records with the same content at
// different paths share one block.
func TestCreateWritesARepeatedRecordOnce(t *testing.T) {
	var lines strings.Builder
	for i := range 5 {
		fmt.Fprintf(&lines, `{"collection":"app.bsky.feed.like","rkey":"r%d","record":{"$type":"app.bsky.feed.like","subject":"same"}}`+"\n", i)
	}
	out, res := createFromLines(t, lines.String())
	if want := 1 + res.MSTNodes + 1; res.Blocks != want {
		t.Fatalf("%d blocks, want %d (commit, %d nodes, one record)", res.Blocks, want, res.MSTNodes)
	}
	if a := readArchive(t, out); a.Duplicates != 0 || a.BlockCount != res.Blocks {
		t.Fatalf("%d sections with %d duplicates, want %d and none", a.BlockCount, a.Duplicates, res.Blocks)
	}
}

// TestReadJSONLinesKeepsInputOrderAcrossBatches: many batches, worked on
// concurrently, come back in input order with their lines.
func TestReadJSONLinesKeepsInputOrderAcrossBatches(t *testing.T) {
	var lines strings.Builder
	n := 3*batchItems + 17
	for i := range n {
		if i%1000 == 999 {
			lines.WriteString("\n") // blank lines are skipped but counted
		}
		fmt.Fprintf(&lines, `{"collection":"app.bsky.feed.post","rkey":"k%06d","record":{"$type":"app.bsky.feed.post","i":%d}}`+"\n", n-i, i)
	}
	s, err := ReadJSONLines(strings.NewReader(lines.String()), "f")
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != n {
		t.Fatalf("%d records, want %d", s.Len(), n)
	}
	for i := range n {
		r := s.Record(i)
		if want := fmt.Sprintf("k%06d", n-i); r.RKey != want || r.Line != i+1+(i+1)/1000 {
			t.Fatalf("record %d: rkey %s line %d, want %s line %d", i, r.RKey, r.Line, want, i+1+(i+1)/1000)
		}
	}
}

// onceReader hides a reader's Seek method.
type onceReader struct{ r io.Reader }

func (o onceReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// TestRewriteGivesTheSameBytesFromAFileOrAStream: a seekable input is read
// twice, a stream once with its records kept; the output is the same.
func TestRewriteGivesTheSameBytesFromAFileOrAStream(t *testing.T) {
	keys := testKeys(t)
	in := readFile(t, golden("repos", "r2000.car"))
	for _, opts := range []RewriteOptions{
		{},
		{Key: keys["p256"].key, Rev: "3ku22222222b2"},
		{Key: keys["p256"].key, Rev: "3ku22222222b2", DID: "did:plc:anotheraaaaaaaaaaaaaaaaa"},
		{Compact: true},
	} {
		var file, stream bytes.Buffer
		r1, err1 := Rewrite(bytes.NewReader(in), &file, opts)
		r2, err2 := Rewrite(onceReader{bytes.NewReader(in)}, &stream, opts)
		if err1 != nil || err2 != nil {
			t.Fatalf("%+v: %v / %v", opts, err1, err2)
		}
		if !bytes.Equal(file.Bytes(), stream.Bytes()) || r1.BlocksOut != r2.BlocksOut || r1.BytesOut != r2.BytesOut || r1.RecordsOut != r2.RecordsOut {
			t.Fatalf("%+v: outputs differ (%d/%d blocks, %d/%d bytes)", opts, r1.BlocksOut, r2.BlocksOut, r1.BytesOut, r2.BytesOut)
		}
	}
}

// switchingReader serves a, then after the first Seek serves b.
type switchingReader struct {
	cur   *bytes.Reader
	b     []byte
	seeks int
}

func (s *switchingReader) Read(p []byte) (int, error) { return s.cur.Read(p) }

func (s *switchingReader) Seek(off int64, whence int) (int64, error) {
	if whence == io.SeekStart {
		s.seeks++
		s.cur = bytes.NewReader(s.b)
	}
	return s.cur.Seek(off, whence)
}

// TestRewriteNoticesAnInputThatChangesBetweenReads.
func TestRewriteNoticesAnInputThatChangesBetweenReads(t *testing.T) {
	first := readFile(t, golden("repos", "ten.car"))
	second, _ := withExtraBlocks(t, first)
	in := &switchingReader{cur: bytes.NewReader(first), b: second}
	_, err := Rewrite(in, io.Discard, RewriteOptions{Key: testKeys(t)["p256"].key, Rev: "3ku22222222b2"})
	if !errors.Is(err, errInputChanged) || in.seeks == 0 {
		t.Fatalf("got %v after %d seeks, want errInputChanged", err, in.seeks)
	}
}

// FuzzJSONLine: whatever the line, convert (direct path first) and the
// data-model path agree: the same record, or errors of the same kind at
// the same place.
func FuzzJSONLine(f *testing.F) {
	f.Add(`{"collection":"app.bsky.feed.post","rkey":"3jx2sj3hs2222","record":{"$type":"app.bsky.feed.post","text":"hi","langs":["en"]}}`)
	f.Add(`{"collection":"app.bsky.feed.post","record":{"$type":"app.bsky.feed.post","img":{"$type":"blob","ref":{"$link":"` + testLink + `"},"mimeType":"image/png","size":3}}}`)
	f.Add(`{"collection":"app.bsky.feed.post","rkey":null,"record":{"$type":"x","b":{"$bytes":"AQID"},"n":-1.0}}`)
	f.Add(`{"collection":"com.example.x","rkey":"a:b~c","record":{"$type":"x"},"extra":1}`)
	f.Add(`{"collection":"app.bsky.feed.post","rkey":"..","record":"x"}`)
	f.Fuzz(func(t *testing.T, line string) {
		it := rawItem{file: "f.jsonl", line: 3, envelope: true, data: []byte(line)}
		w := worker{pc: pathChecker{"app.bsky.feed.post": true}}
		var out outBatch
		gerr := w.convert(&it, &out)
		want, werr := convertValues(&it, pathChecker{})
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("convert error %v, data-model path %v", gerr, werr)
		}
		if werr != nil {
			var ge, we *InputError
			if !errors.As(gerr, &ge) || !errors.As(werr, &we) || ge.Line != we.Line || ge.Path != we.Path {
				t.Fatalf("convert error %v, data-model path %v", gerr, werr)
			}
			for _, s := range []error{ErrBadLine, ErrBadRecord, ErrBadPath, ErrRecordTooLarge} {
				if errors.Is(gerr, s) != errors.Is(werr, s) {
					t.Fatalf("convert error %v, data-model path %v", gerr, werr)
				}
			}
			return
		}
		r := out.recs[0]
		if k := string(out.keys[r.kstart:r.kend]); k != want.Collection && k != want.Collection+"/"+want.RKey ||
			!bytes.Equal(out.bodies[r.bstart:r.bend], want.Data) || dagcbor.CIDFromDigest(uint64(r.m.codec), r.m.digest) != want.CID {
			t.Fatalf("convert gave %q %x, data-model path %+v", out.keys[r.kstart:r.kend], out.bodies[r.bstart:r.bend], want)
		}
	})
}

// createFromLines creates a repository from JSON lines (signed with the
// test k256 key, DID testDID, a fixed rev) and returns the CAR and the result.
func createFromLines(t *testing.T, lines string) ([]byte, *CreateResult) {
	t.Helper()
	s, err := ReadJSONLines(strings.NewReader(lines), "f")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res, err := CreateFromSet(&out, s, CreateOptions{DID: testDID, Key: testKeys(t)["k256"].key, Rev: "3ktt5626c222b"})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), res
}
