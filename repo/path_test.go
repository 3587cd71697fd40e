package repo

import (
	"errors"
	"testing"
)

func TestParseATURIAuthorityForms(t *testing.T) {
	tests := []struct {
		in                    string
		authority, coll, rkey string
	}{
		{"at://did:plc:ABCdef/app.bsky.feed.post/3k", "did:plc:ABCdef", "app.bsky.feed.post", "3k"},
		{"at://Alice.Example.COM/app.bsky.feed.post/3k", "alice.example.com", "app.bsky.feed.post", "3k"},
		{"at://alice.example.com", "alice.example.com", "", ""},
		{"at://did:web:example.com/app.bsky.actor.profile", "did:web:example.com", "app.bsky.actor.profile", ""},
	}
	for _, tt := range tests {
		a, c, r, err := ParseATURI(tt.in)
		if err != nil || a != tt.authority || c != tt.coll || r != tt.rkey {
			t.Errorf("ParseATURI(%q) = %q, %q, %q, %v", tt.in, a, c, r, err)
		}
	}
}

func TestParseRecordPathRejects(t *testing.T) {
	for _, p := range []string{"", "app.bsky.feed.post", "app.bsky.feed.post/", "/3k", "app.bsky.feed.post/3k/x", "app/3k", "app.bsky.feed.post/..", "at://did:plc:a/app.bsky.feed.post/3k"} {
		if _, _, err := ParseRecordPath(p); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("ParseRecordPath(%q) = %v, want ErrInvalidPath", p, err)
		}
	}
}
