package dagcbor

import (
	"testing"
)

// ValidatedSkip ends each item exactly where it ends, for every kind of
// item Validate accepts (by head for scalars and strings, through a Reader
// for containers), and ValidatedHead gives the major type and argument.
func TestValidatedWalkEndsEachItemWhereItEnds(t *testing.T) {
	cases := []struct {
		name  string
		v     any
		major int
		arg   uint64
	}{
		{"small uint", int64(7), MajorUint, 7},
		{"uint16", int64(1000), MajorUint, 1000},
		{"uint64", int64(1) << 40, MajorUint, 1 << 40},
		{"negative", int64(-5), MajorNegInt, 4},
		{"bool", true, MajorSimple, 21},
		{"null", nil, MajorSimple, 22},
		{"bytes", []byte{1, 2, 3}, MajorBytes, 3},
		{"long text", string(make([]byte, 300)), MajorText, 300},
		{"array", []any{int64(1), "a", []any{}}, MajorArray, 3},
		{"map", map[string]any{"a": int64(1), "$type": "x"}, MajorMap, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := Encode(c.v)
			if err != nil {
				t.Fatal(err)
			}
			if err := Validate(b); err != nil {
				t.Fatal(err)
			}
			major, arg, _, ok := ValidatedHead(b, 0)
			if !ok || major != c.major || arg != c.arg {
				t.Fatalf("head: major %d arg %d ok %v, want %d %d", major, arg, ok, c.major, c.arg)
			}
			// The item inside a two-item array, so its end is not the
			// end of the bytes.
			outer, err := Encode([]any{c.v, int64(0)})
			if err != nil {
				t.Fatal(err)
			}
			end, ok := ValidatedSkip(outer, 1)
			if !ok || end != 1+len(b) {
				t.Fatalf("skip ends at %d (ok %v), want %d", end, ok, 1+len(b))
			}
		})
	}
}

// On bytes cut short anywhere, neither panics and a cut string or head is
// reported, not read past.
func TestValidatedWalkOnCutBytesDoesNotPanic(t *testing.T) {
	b, err := Encode(map[string]any{"$type": "app.bsky.feed.post", "text": string(make([]byte, 70000)), "n": []any{int64(1) << 33}})
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(b) {
		cut := b[:n]
		for off := 0; off <= n; off += 1 + n/50 {
			ValidatedHead(cut, off)
			if end, ok := ValidatedSkip(cut, off); ok && end > n {
				t.Fatalf("skip at %d of %d bytes ends past them, at %d", off, n, end)
			}
		}
	}
}
