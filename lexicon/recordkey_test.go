package lexicon

import (
	"errors"
	"testing"
)

// TestRecordKeyType: a record schema's key type, and no key type for a
// name that is no record schema (unknown, a query, an object, a defs
// document's definition).
func TestRecordKeyType(t *testing.T) {
	cat, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		typ, key string
		ok       bool
	}{
		{"app.bsky.feed.post", "tid", true},
		{"app.bsky.feed.post#main", "tid", true},
		{"app.bsky.actor.profile", "literal:self", true},
		{"app.bsky.feed.generator", "any", true},
		{"com.example.unknown", "", false},
		{"app.bsky.feed.getTimeline", "", false},
		{"app.bsky.embed.images", "", false},
		{"app.bsky.actor.defs#profileView", "", false},
	} {
		if key, ok := cat.RecordKeyType(tc.typ); key != tc.key || ok != tc.ok {
			t.Errorf("RecordKeyType(%s) = %q, %v; want %q, %v", tc.typ, key, ok, tc.key, tc.ok)
		}
	}
}

// TestCheckRecordKey: each key type of the Lexicon spec allows the keys it
// names and refuses the others with a *RecordKeyError.
func TestCheckRecordKey(t *testing.T) {
	for _, tc := range []struct {
		keyType, rkey string
		ok            bool
	}{
		{"tid", "3k2la3uyghk2a", true},
		{"tid", "self", false},
		{"tid", "3K2LA3UYGHK2A", false},
		{"nsid", "app.bsky.feed.post", true},
		{"nsid", "self", false},
		{"literal:self", "self", true},
		{"literal:self", "other", false},
		{"literal:self", "selfish", false},
		{"any", "whatever:1", true},
		{"record-key", "anything", true}, // not a key type of the spec: no check
	} {
		err := CheckRecordKey(tc.keyType, tc.rkey)
		var ke *RecordKeyError
		switch {
		case tc.ok && err != nil:
			t.Errorf("CheckRecordKey(%s, %s) = %v, want nil", tc.keyType, tc.rkey, err)
		case !tc.ok && (!errors.Is(err, ErrRecordKeyType) || !errors.As(err, &ke) || ke.Key != tc.rkey || ke.KeyType != tc.keyType):
			t.Errorf("CheckRecordKey(%s, %s) = %v, want a RecordKeyError", tc.keyType, tc.rkey, err)
		}
	}
}
