package lexicon

import (
	"testing"
)

// formatSeeds are strings near the edges of every format.
var formatSeeds = []string{
	"", "a", "did:plc:ewvi7nxzyoun6zhxrhs64oiz", "did:plc:EWVI7NXZYOUN6ZHXRHS64OIZ", "did:plc:ewvi7nxzyoun6zhxrhs64oi",
	"did:web:example.com", "did:web:-example.com", "did:web:", "did:key:zQ3sh", "DID:plc:ewvi7nxzyoun6zhxrhs64oiz",
	"alice.bsky.social", "alice", "a.b", "a.1", "1a.b", "-a.b", "a-.b", "a..b", "a.b.", "xn--ls8h.test",
	"app.bsky.feed.post", "app.bsky.feed.post1", "app.bsky.feed.po-st", "app.bsky", "com.example.fooBar", "1pp.bsky.feed",
	"at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3k2la3uyghk2b", "at://alice.test", "at://alice.test/", "at://alice.test/app.bsky.feed.post/",
	"at://alice.test/app.bsky.feed.post/a/b", "at://did:web:x.com/app.bsky.feed.post/.", "at://x/y", "https://example.com",
	"bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm", "Qmbabc12345", "short", "abc+=defg",
	"2024-02-29T12:00:00.000Z", "2023-02-29T12:00:00Z", "2024-13-01T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:00:60Z",
	"2024-01-01T00:00:00,123Z", "2024-01-01T00:00:00.1234567891Z", "2024-01-01T00:00:00+00:00", "2024-01-01T00:00:00-00:00",
	"0000-01-01T00:00:00Z", "2024-01-01t00:00:00Z", "2024-01-01T00:00:00.Z", "1900-02-29T00:00:00Z", "2000-02-29T00:00:00Z",
	"en", "en-US", "i-klingon", "e", "engl", "EN", "en-", "zh-Hant-TW",
	"3k2la3uyghk2b", "kk2la3uyghk2b", "3k2la3uyghk2", "3K2LA3UYGHK2B",
	"self", ".", "..", "a~b:c.d_e-f", "a/b", "a b",
	"https://example.com/a?b#c", "mailto:x@y", "a:b", "A:b", "ab:", "a b:c", "dns:x\x7f",
}

// TestFastFormatsAcceptOnlyWhatIndigoAccepts: for every seed and every
// format, a fast accept is never a string indigo's parser refuses (the
// fast path may only decline).
func TestFastFormatsAcceptOnlyWhatIndigoAccepts(t *testing.T) {
	for _, s := range formatSeeds {
		checkFastAgrees(t, s)
	}
}

func checkFastAgrees(t *testing.T, s string) {
	t.Helper()
	for f := fATIdentifier; f <= fRecordKey; f++ {
		if !fastFormat(f, s) {
			continue
		}
		if err := checkFormatSlow(f, s); err != nil {
			t.Errorf("format %s: fast path accepts %q, indigo refuses it: %v", f, s, err)
		}
	}
}

// FuzzFormatsAgreeWithIndigo holds the fast paths to indigo's parsers on
// arbitrary strings.
func FuzzFormatsAgreeWithIndigo(f *testing.F) {
	for _, s := range formatSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkFastAgrees(t, s) })
}

// TestGraphemesMatchesUniseg: the ASCII shortcut counts as uniseg does.
func TestGraphemesMatchesUniseg(t *testing.T) {
	for _, s := range []string{"", "abc", "a\r\nb", "a\nb", "é", "e\u0301", "🇩🇪🏳️‍🌈", "tab\there"} {
		if got, want := graphemes(s), graphemesSlow(s); got != want {
			t.Errorf("graphemes(%q) = %d, uniseg says %d", s, got, want)
		}
	}
}
