package mst

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateKey(t *testing.T) {
	tests := []struct {
		key string
		ok  bool
	}{
		{"app.bsky.feed.post/3jzfcijpj2z2a", true},
		{"A0/374913", true},
		{"k/00", true},
		{"com.example/a_b~c-d:e.f", true},
		{"a/" + strings.Repeat("x", MaxKeyLen-2), true},
		{"a/" + strings.Repeat("x", MaxKeyLen-1), false},
		{"", false},
		{"noslash", false},
		{"/rkey", false},
		{"coll/", false},
		{"a/b/c", false},
		{"a//b", false},
		{"coll/.", false},
		{"coll/..", false},
		{"./rkey", false},
		{"coll/..x", true},
		{"coll/a b", false},
		{"coll/a%b", false},
		{"coll/é", false},
		{"coll/a\x00", false},
		{"coll/a#b", false},
	}
	for _, tc := range tests {
		err := ValidateKey([]byte(tc.key))
		if (err == nil) != tc.ok {
			t.Errorf("ValidateKey(%q) = %v, want ok=%v", tc.key, err, tc.ok)
		}
		if err != nil {
			var ke *KeyError
			if !errors.Is(err, ErrBadKey) || !errors.As(err, &ke) {
				t.Errorf("ValidateKey(%q): error %v is not a *KeyError wrapping ErrBadKey", tc.key, err)
			}
		}
	}
}

func TestValidateRepoPathRequiresNSIDAndRecordKey(t *testing.T) {
	tests := []struct {
		key string
		ok  bool
	}{
		{"app.bsky.feed.post/3jzfcijpj2z2a", true},
		{"app.bsky.actor.profile/self", true},
		{"A0/374913", false},
		{"k/00", false},
		{"app.bsky.feed.post/a b", false},
	}
	for _, tc := range tests {
		if err := ValidateRepoPath([]byte(tc.key)); (err == nil) != tc.ok {
			t.Errorf("ValidateRepoPath(%q) = %v, want ok=%v", tc.key, err, tc.ok)
		}
	}
}
