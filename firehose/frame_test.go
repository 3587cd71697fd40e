package firehose

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
)

func enc(t testing.TB, v any) []byte {
	t.Helper()
	b, err := dagcbor.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func frame(t testing.TB, header, body any) []byte {
	return append(enc(t, header), enc(t, body)...)
}

func strp(s string) *string { return &s }

func sampleEvents(t testing.TB) []Event {
	c1 := dagcbor.SumCID(dagcbor.CodecDagCBOR, []byte{0xa0})
	c2 := dagcbor.SumCID(dagcbor.CodecDagCBOR, []byte{0x80})
	return []Event{
		&Commit{Seq: 7, Repo: "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", Commit: c1, Rev: "3lmxjza3nva27", Since: strp("3lmxjxi3hjn23"),
			Blocks: []byte{1, 2}, Blobs: []cid.Cid{c2}, PrevData: c2, Time: "2025-04-16T21:30:26.717Z",
			Ops: []RepoOp{
				{Action: ActionCreate, Path: "app.bsky.feed.post/3lmxjza3h2i", CID: c1},
				{Action: ActionUpdate, Path: "app.bsky.actor.profile/self", CID: c1, Prev: c2},
				{Action: ActionDelete, Path: "app.bsky.feed.like/3lmxjza3h2i", Prev: c2},
			}},
		&Commit{Seq: 1, Repo: "did:web:example.com", Commit: c1, Rev: "3lmxjza3nva27", Blocks: []byte{}, Blobs: []cid.Cid{}, Ops: []RepoOp{}, Time: "2025-04-16T21:30:26Z"},
		&Identity{Seq: 2, DID: "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", Time: "2025-04-16T21:30:26.717Z", Handle: "alice.test"},
		&Identity{Seq: 3, DID: "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", Time: "2025-04-16T21:30:26.717Z"},
		&Account{Seq: 4, DID: "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", Time: "2025-04-16T21:30:26.717Z", Active: false, Status: "deactivated"},
		&Account{Seq: 5, DID: "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", Time: "2025-04-16T21:30:26.717Z", Active: true},
		&Sync{Seq: 6, DID: "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", Blocks: []byte{9}, Rev: "3lmxjza3nva27", Time: "2025-04-16T21:30:26.717Z"},
		&Info{Name: InfoOutdatedCursor},
		&Info{Name: InfoOutdatedCursor, Message: strp("")},
		&ErrorFrame{Name: ErrNameFutureCursor, Message: strp("Cursor in the future.")},
		&ErrorFrame{Name: ErrNameConsumerTooSlow},
		&Unknown{T: "#handle", Body: map[string]any{"seq": int64(3), "handle": "a.test"}},
	}
}

func TestEncodeDecodeRoundTripsEveryType(t *testing.T) {
	for _, ev := range sampleEvents(t) {
		b, err := EncodeFrame(ev)
		if err != nil {
			t.Fatalf("%T: %v", ev, err)
		}
		got, err := DecodeFrame(b)
		if err != nil {
			t.Fatalf("%T: %v", ev, err)
		}
		if !reflect.DeepEqual(got, ev) {
			t.Errorf("decoded %#v, want %#v", got, ev)
		}
		roundTrip(t, got)
	}
}

func TestEncodeFrameWritesTheStandardHeader(t *testing.T) {
	b, err := EncodeFrame(&Info{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	// {"t": "#info", "op": 1} in DAG-CBOR key order.
	want := enc(t, map[string]any{"op": int64(1), "t": "#info"})
	if string(b[:len(want)]) != string(want) || want[1] != 0x61 || want[2] != 't' {
		t.Fatalf("header %x, want %x", b[:len(want)], want)
	}
	b, _ = EncodeFrame(&ErrorFrame{Name: "FutureCursor"})
	if want := enc(t, map[string]any{"op": int64(-1)}); string(b[:len(want)]) != string(want) {
		t.Fatalf("error header %x", b)
	}
}

func TestDecodeFrameRejects(t *testing.T) {
	c := dagcbor.SumCID(dagcbor.CodecDagCBOR, []byte{0xa0})
	commit := func(mut func(m map[string]any)) map[string]any {
		m := map[string]any{"seq": int64(1), "rebase": false, "tooBig": false, "repo": "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa",
			"commit": c, "rev": "3lmxjza3nva27", "since": nil, "blocks": []byte{}, "ops": []any{}, "blobs": []any{},
			"time": "2025-04-16T21:30:26.717Z"}
		mut(m)
		return m
	}
	op := func(mut func(m map[string]any)) map[string]any {
		m := map[string]any{"action": "create", "path": "app.bsky.feed.post/3lmxjza3h2i", "cid": c}
		mut(m)
		return commit(func(b map[string]any) { b["ops"] = []any{m} })
	}
	h := map[string]any{"op": int64(1), "t": "#commit"}
	valid := frame(t, h, commit(func(map[string]any) {}))
	if _, err := DecodeFrame(valid); err != nil {
		t.Fatalf("the valid base frame: %v", err)
	}
	cases := []struct {
		name  string
		frame []byte
		want  error
		msg   string
	}{
		{"empty input", nil, dagcbor.ErrTruncated, ""},
		{"a header alone", enc(t, h), ErrBadFrame, "body"},
		{"bytes after the body", append(valid, 0), dagcbor.ErrTrailing, ""},
		{"a non-canonical body (unsorted keys)", append(enc(t, h), 0xa2, 0x62, 'o', 'p', 1, 0x61, 't', 0x61, 'x'), dagcbor.ErrKeyOrder, ""},
		{"a float in the body", append(enc(t, h), 0xf9, 0, 0), dagcbor.ErrFloat, ""},
		{"header op 2", frame(t, map[string]any{"op": int64(2), "t": "#commit"}, map[string]any{}), ErrBadFrame, "header.op"},
		{"header without op", frame(t, map[string]any{"t": "#commit"}, map[string]any{}), ErrBadFrame, "header.op"},
		{"header without t", frame(t, map[string]any{"op": int64(1)}, map[string]any{}), ErrBadFrame, "header.t"},
		{"header with an extra field", frame(t, map[string]any{"op": int64(1), "t": "#info", "x": int64(1)}, map[string]any{"name": "a"}), ErrBadFrame, "header"},
		{"error header with t", frame(t, map[string]any{"op": int64(-1), "t": "#info"}, map[string]any{"error": "a"}), ErrBadFrame, "header"},
		{"body not a map", frame(t, h, []any{}), ErrBadFrame, "not a map"},
		{"commit without since", frame(t, h, commit(func(m map[string]any) { delete(m, "since") })), ErrBadFrame, "since"},
		{"commit without tooBig", frame(t, h, commit(func(m map[string]any) { delete(m, "tooBig") })), ErrBadFrame, "tooBig"},
		{"commit with a bad DID", frame(t, h, commit(func(m map[string]any) { m["repo"] = "alice" })), ErrBadFrame, "repo"},
		{"commit with a bad rev", frame(t, h, commit(func(m map[string]any) { m["rev"] = "3lmxjza3nva00" })), ErrBadFrame, "rev"},
		{"commit with a bad since", frame(t, h, commit(func(m map[string]any) { m["since"] = "yesterday" })), ErrBadFrame, "since"},
		{"commit with a bad time", frame(t, h, commit(func(m map[string]any) { m["time"] = "2025-04-16" })), ErrBadFrame, "time"},
		{"commit with a negative seq", frame(t, h, commit(func(m map[string]any) { m["seq"] = int64(-1) })), ErrBadFrame, "seq"},
		{"commit with a string commit", frame(t, h, commit(func(m map[string]any) { m["commit"] = "bafy" })), ErrBadFrame, "commit"},
		{"commit with null prevData", frame(t, h, commit(func(m map[string]any) { m["prevData"] = nil })), ErrBadFrame, "prevData"},
		{"commit with null blobs", frame(t, h, commit(func(m map[string]any) { m["blobs"] = nil })), ErrBadFrame, "blobs"},
		{"op with an unknown action", frame(t, h, op(func(m map[string]any) { m["action"] = "upsert" })), ErrBadFrame, "ops[0].action"},
		{"op with a bad path", frame(t, h, op(func(m map[string]any) { m["path"] = "posts" })), ErrBadFrame, "ops[0].path"},
		{"op without cid", frame(t, h, op(func(m map[string]any) { delete(m, "cid") })), ErrBadFrame, "ops[0].cid"},
		{"op with an unknown field", frame(t, h, op(func(m map[string]any) { m["x"] = int64(1) })), ErrBadFrame, "ops[0]"},
		{"identity with an empty handle", frame(t, map[string]any{"op": int64(1), "t": "#identity"},
			map[string]any{"seq": int64(1), "did": "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "time": "2025-04-16T21:30:26.717Z", "handle": ""}), ErrBadFrame, "handle"},
		{"account without active", frame(t, map[string]any{"op": int64(1), "t": "#account"},
			map[string]any{"seq": int64(1), "did": "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "time": "2025-04-16T21:30:26.717Z"}), ErrBadFrame, "active"},
		{"info without name", frame(t, map[string]any{"op": int64(1), "t": "#info"}, map[string]any{"message": "x"}), ErrBadFrame, "name"},
		{"error without error", frame(t, map[string]any{"op": int64(-1)}, map[string]any{"message": "x"}), ErrBadFrame, "error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := DecodeFrame(tc.frame)
			if err == nil {
				t.Fatalf("accepted: %#v", ev)
			}
			wantErr(t, err, tc.want)
			if !errors.Is(err, ErrBadFrame) {
				t.Errorf("%v does not wrap ErrBadFrame", err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%q does not name %q", err, tc.msg)
			}
		})
	}
}

func TestDecodeFrameKeepsUnknownFields(t *testing.T) {
	b := frame(t, map[string]any{"op": int64(1), "t": "#info"}, map[string]any{"name": "x", "zzz": []any{int64(1)}})
	ev, err := DecodeFrame(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := roundTrip(t, ev); string(got) != string(b) {
		t.Fatal("unknown field lost")
	}
}

func TestSyntaxErrorOffsetsAreInTheWholeFrame(t *testing.T) {
	h := enc(t, map[string]any{"op": int64(1), "t": "#info"})
	_, err := DecodeFrame(append(h, 0xa1, 0x61, 'a', 0xf9, 0, 0))
	var se *dagcbor.SyntaxError
	if !errors.As(err, &se) || se.Offset != len(h)+3 {
		t.Fatalf("error %v, want a SyntaxError at offset %d", err, len(h)+3)
	}
}

func TestErrorFrameMatchesByName(t *testing.T) {
	cases := []struct {
		name string
		is   error
		not  error
	}{
		{ErrNameFutureCursor, ErrFutureCursor, ErrConsumerTooSlow},
		{ErrNameConsumerTooSlow, ErrConsumerTooSlow, ErrFutureCursor},
	}
	for _, tc := range cases {
		var err error = &ErrorFrame{Name: tc.name}
		if !errors.Is(err, tc.is) || errors.Is(err, tc.not) {
			t.Errorf("%s: Is(%v)=%v Is(%v)=%v", tc.name, tc.is, errors.Is(err, tc.is), tc.not, errors.Is(err, tc.not))
		}
	}
}

func TestEncodeFrameRefusesWhatCannotDecode(t *testing.T) {
	cases := []struct {
		name string
		ev   Event
	}{
		{"commit without a CID", &Commit{Repo: "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", Rev: "3lmxjza3nva27", Time: "2025-04-16T21:30:26.717Z"}},
		{"identity with a bad DID", &Identity{DID: "x", Time: "2025-04-16T21:30:26.717Z"}},
		{"unknown posing as a known type", &Unknown{T: TypeCommit, Body: map[string]any{}}},
		{"malformed", &Malformed{Err: errors.New("x")}},
		{"nil", nil},
	}
	for _, tc := range cases {
		if _, err := EncodeFrame(tc.ev); !errors.Is(err, ErrBadFrame) {
			t.Errorf("%s: error %v", tc.name, err)
		}
	}
}
