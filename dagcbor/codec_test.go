package dagcbor

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/ipfs/go-cid"
)

type testStrongRef struct {
	URI string  `cbor:"uri"`
	CID cid.Cid `cbor:"cid"`
}

type testReply struct {
	Root   testStrongRef `cbor:"root"`
	Parent testStrongRef `cbor:"parent"`
}

type testPost struct {
	Type      string     `cbor:"$type"`
	Text      string     `cbor:"text"`
	CreatedAt string     `cbor:"createdAt"`
	Langs     []string   `cbor:"langs,omitempty"`
	Reply     *testReply `cbor:"reply,omitempty"`
	Via       *cid.Cid   `cbor:"via,omitempty"`
	Prev      *cid.Cid   `cbor:"prev"`
	Count     int64      `cbor:"count,omitempty"`
	Neg       int        `cbor:"neg"`
	Data      []byte     `cbor:"data,omitempty"`
}

func TestMarshalStructMatchesEncodeOfEquivalentMap(t *testing.T) {
	root := testfixtures.CID(t, "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a")
	via := testfixtures.CID(t, "bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity")
	cases := []struct {
		name string
		v    testPost
		m    map[string]any
	}{
		{
			"omitempty fields left out, nil link pointer is null",
			testPost{Type: "app.bsky.feed.post", Text: "hello", CreatedAt: "2024-01-01T00:00:00Z", Neg: -3},
			map[string]any{"$type": "app.bsky.feed.post", "text": "hello", "createdAt": "2024-01-01T00:00:00Z", "prev": nil, "neg": -3},
		},
		{
			"every field set",
			testPost{
				Type: "app.bsky.feed.post", Text: "reply ☃", CreatedAt: "2024-01-01T00:00:00Z",
				Langs: []string{"en", "fr"},
				Reply: &testReply{Root: testStrongRef{"at://did:plc:a/app.bsky.feed.post/1", root}, Parent: testStrongRef{"at://did:plc:a/app.bsky.feed.post/2", root}},
				Via:   &via, Prev: &root, Count: 1 << 40, Neg: 0, Data: []byte{0, 1},
			},
			map[string]any{
				"$type": "app.bsky.feed.post", "text": "reply ☃", "createdAt": "2024-01-01T00:00:00Z",
				"langs": []any{"en", "fr"},
				"reply": map[string]any{
					"root":   map[string]any{"uri": "at://did:plc:a/app.bsky.feed.post/1", "cid": root},
					"parent": map[string]any{"uri": "at://did:plc:a/app.bsky.feed.post/2", "cid": root},
				},
				"via": via, "prev": root, "count": int64(1) << 40, "neg": 0, "data": []byte{0, 1},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Marshal(c.v)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			want, err := Encode(c.m)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Marshal = %x\n Encode = %x", got, want)
			}
			var back testPost
			if err := Unmarshal(got, &back); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !reflect.DeepEqual(back, c.v) {
				t.Fatalf("Unmarshal(Marshal(v)) = %+v, want %+v", back, c.v)
			}
		})
	}
}

func TestMarshalRejectsValuesOutsideTheDataModel(t *testing.T) {
	v0 := testfixtures.CID(t, "QmQg1v4o9xdT3Q14wh4S7dxZkDjyZ9ssFzFzyep1YrVJBY")
	cases := []struct {
		name string
		v    any
		want error
	}{
		{"float field", struct {
			F float64 `cbor:"f"`
		}{1.5}, ErrFloat},
		{"uint64 above int64", struct {
			U uint64 `cbor:"u"`
		}{1 << 63}, ErrIntRange},
		{"CIDv0 link", struct {
			C cid.Cid `cbor:"c"`
		}{v0}, ErrBadLink},
		{"undefined link", struct {
			C cid.Cid `cbor:"c"`
		}{}, ErrBadLink},
		{"integer map keys", map[int]string{1: "a"}, ErrMapKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Marshal(c.v); !errors.Is(err, c.want) {
				t.Fatalf("Marshal = %v, want %v", err, c.want)
			}
		})
	}
}

func TestUnmarshalEnforcesStrictnessBeforeReflection(t *testing.T) {
	cases := []struct {
		name string
		hex  string
		want error
	}{
		{"longer key first", "a2" + "652474797065" + "6161" + "6474657874" + "6178", ErrKeyOrder},
		{"non-minimal int", "a1636e6567" + "1801", ErrNonMinimal},
		{"float", "a1636e6567" + "f93c00", ErrFloat},
		{"trailing", "a0" + "00", ErrTrailing},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, _ := hex.DecodeString(c.hex)
			var p testPost
			if err := Unmarshal(b, &p); !errors.Is(err, c.want) {
				t.Fatalf("Unmarshal = %v, want %v", err, c.want)
			}
		})
	}
}

func TestUnmarshalIntoAnyGivesSameValuesAsDecode(t *testing.T) {
	v := map[string]any{
		"a": []any{int64(1), int64(-2), "x", []byte{9}, nil, true},
		"b": map[string]any{"c": testfixtures.CID(t, "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a")},
	}
	b, err := Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	dv, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	var uv any
	if err := Unmarshal(b, &uv); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(dv, uv) {
		t.Fatalf("Unmarshal into any = %#v\nDecode = %#v", uv, dv)
	}
}

func TestUnmarshalReportsTypeMismatch(t *testing.T) {
	b, err := Encode(map[string]any{"text": 5})
	if err != nil {
		t.Fatal(err)
	}
	var p testPost
	if err := Unmarshal(b, &p); err == nil {
		t.Fatal("Unmarshal of an integer into a string field succeeded")
	}
}
