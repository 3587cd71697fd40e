package dagcbor

import (
	"testing"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// benchPost is a typical app.bsky.feed.post record: a reply with a facet,
// an image embed holding a blob, and languages.
func benchPost(b *testing.B) map[string]any {
	b.Helper()
	img := testfixtures.CID(b, "bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity")
	ref := map[string]any{
		"uri": "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3k6jlvhcnr52g",
		"cid": "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a",
	}
	return map[string]any{
		"$type":     "app.bsky.feed.post",
		"text":      "Looking at the new repo export format today — check https://atproto.com/specs/repository for details!",
		"createdAt": "2024-05-01T12:34:56.789Z",
		"langs":     []any{"en"},
		"reply":     map[string]any{"root": ref, "parent": ref},
		"facets": []any{map[string]any{
			"$type": "app.bsky.richtext.facet",
			"index": map[string]any{"byteStart": 55, "byteEnd": 95},
			"features": []any{map[string]any{
				"$type": "app.bsky.richtext.facet#link",
				"uri":   "https://atproto.com/specs/repository",
			}},
		}},
		"embed": map[string]any{
			"$type": "app.bsky.embed.images",
			"images": []any{map[string]any{
				"alt":         "a diagram of a Merkle search tree",
				"aspectRatio": map[string]any{"width": 1200, "height": 800},
				"image":       map[string]any{"$type": "blob", "ref": img, "mimeType": "image/jpeg", "size": 123456},
			}},
		},
	}
}

func benchPostBytes(b *testing.B) []byte {
	enc, err := Encode(benchPost(b))
	if err != nil {
		b.Fatal(err)
	}
	return enc
}

func BenchmarkValidatePost(b *testing.B) {
	data := benchPostBytes(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Validate(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePost(b *testing.B) {
	data := benchPostBytes(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodePost(b *testing.B) {
	v := benchPost(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkToJSONPost(b *testing.B) {
	v := benchPost(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ToJSON(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFromJSONPost(b *testing.B) {
	j, err := ToJSON(benchPost(b))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(j)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromJSON(j); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalPostAny(b *testing.B) {
	data := benchPostBytes(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var v any
		if err := Unmarshal(data, &v); err != nil {
			b.Fatal(err)
		}
	}
}
