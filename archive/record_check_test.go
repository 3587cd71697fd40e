package archive

import (
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/dagcbor"
)

// recordState walks heads only; a decode of the whole value is the
// independent answer it must agree with.
func TestRecordStateAgreesWithDecoding(t *testing.T) {
	values := []any{
		map[string]any{"$type": "app.bsky.feed.post", "text": "hi", "createdAt": "x"},
		map[string]any{"$type": "", "text": "hi"},
		map[string]any{"$type": int64(3)},
		map[string]any{"$type": []any{"a"}},
		map[string]any{"text": "no type", "tags": []any{"a", map[string]any{"b": int64(-300000)}}, "a": []byte{1, 2}},
		map[string]any{"a": map[string]any{"$type": "nested"}, "zzzzzz": "x"},
		map[string]any{"$typf": "near", "$typd": "x"},
		map[string]any{"a": int64(1 << 40), "b": true, "c": nil, "$type": "t"},
		[]any{"$type"},
		"$type",
		int64(5),
		map[string]any{},
	}
	for _, v := range values {
		b, err := dagcbor.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		want := recNoType
		if m, ok := v.(map[string]any); !ok {
			want = recNotMap
		} else if ty, ok := m["$type"]; ok {
			if s, ok := ty.(string); ok && s != "" {
				want = recOK
			} else {
				want = recTypeNotString
			}
		}
		if got := recordState(b); got != want {
			t.Errorf("recordState(%v) = %d, want %d", v, got, want)
		}
	}
	big, _ := dagcbor.Encode(map[string]any{"$type": "t", "text": strings.Repeat("x", MaxRecordSize)})
	if got := recordState(big); got != recTooLarge {
		t.Errorf("recordState of %d bytes = %d, want recTooLarge", len(big), got)
	}
}
