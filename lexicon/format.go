package lexicon

import (
	"strings"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/rivo/uniseg"
)

// format is a Lexicon string format.
type format uint8

const (
	fNone format = iota
	fATIdentifier
	fATURI
	fCID
	fDatetime
	fDID
	fHandle
	fNSID
	fURI
	fLanguage
	fTID
	fRecordKey
)

var formatByName = map[string]format{
	"at-identifier": fATIdentifier, "at-uri": fATURI, "cid": fCID, "datetime": fDatetime,
	"did": fDID, "handle": fHandle, "nsid": fNSID, "uri": fURI, "language": fLanguage,
	"tid": fTID, "record-key": fRecordKey,
}

func (f format) String() string {
	for k, v := range formatByName {
		if v == f {
			return k
		}
	}
	return "none"
}

// checkFormat says why s is not of format f, or nil. The rules are
// indigo's atproto/syntax parsers, which are regular expressions: too slow
// for a million records (about 1 µs each). So each format has a fast
// path that accepts only strings those parsers accept (the common shapes:
// did:plc DIDs, UTC datetimes, at:// URIs of DIDs, ...); anything it does
// not accept goes to the parser, whose verdict and message are final.
// FuzzFormatsAgreeWithIndigo holds the fast paths to that.
func checkFormat(f format, s string) error {
	if fastFormat(f, s) {
		return nil
	}
	return checkFormatSlow(f, s)
}

// checkFormatSlow is indigo's parser for format f.
func checkFormatSlow(f format, s string) error {
	var err error
	switch f {
	case fATIdentifier:
		_, err = syntax.ParseAtIdentifier(s)
	case fATURI:
		_, err = syntax.ParseATURI(s)
	case fCID:
		_, err = syntax.ParseCID(s)
	case fDatetime:
		_, err = syntax.ParseDatetime(s)
	case fDID:
		_, err = syntax.ParseDID(s)
	case fHandle:
		_, err = syntax.ParseHandle(s)
	case fNSID:
		_, err = syntax.ParseNSID(s)
	case fURI:
		_, err = syntax.ParseURI(s)
	case fLanguage:
		_, err = syntax.ParseLanguage(s)
	case fTID:
		_, err = syntax.ParseTID(s)
	case fRecordKey:
		_, err = syntax.ParseRecordKey(s)
	}
	return err
}

// fastFormat reports that s is certainly of format f; false means "ask
// the parser", not "invalid".
func fastFormat(f format, s string) bool {
	switch f {
	case fATIdentifier:
		if strings.HasPrefix(s, "did:") {
			return fastDID(s)
		}
		return fastHandle(s)
	case fATURI:
		return fastATURI(s)
	case fCID:
		return fastCID(s)
	case fDatetime:
		return fastDatetime(s)
	case fDID:
		return fastDID(s)
	case fHandle:
		return fastHandle(s)
	case fNSID:
		return fastNSID(s)
	case fURI:
		return fastURI(s)
	case fLanguage:
		return fastLanguage(s)
	case fTID:
		return fastTID(s)
	case fRecordKey:
		return fastRecordKey(s)
	}
	return false
}

func isDigit(c byte) bool    { return c >= '0' && c <= '9' }
func isLower(c byte) bool    { return c >= 'a' && c <= 'z' }
func isAlpha(c byte) bool    { return isLower(c) || c >= 'A' && c <= 'Z' }
func isAlphaNum(c byte) bool { return isAlpha(c) || isDigit(c) }

// fastDID: did:plc: and 24 letters or digits (what indigo's own fast path
// takes), or did:web: and a plain host name.
func fastDID(s string) bool {
	if len(s) == 32 && strings.HasPrefix(s, "did:plc:") {
		for i := 8; i < 32; i++ {
			if !isAlphaNum(s[i]) {
				return false
			}
		}
		return true
	}
	if strings.HasPrefix(s, "did:web:") && len(s) > 8 && len(s) <= 253 {
		for i := 8; i < len(s); i++ {
			if c := s[i]; !isAlphaNum(c) && c != '.' && c != '-' {
				return false
			}
		}
		return true
	}
	return false
}

// hostLabels checks dot-separated labels of 1 to 63 letters, digits and
// hyphens, neither starting nor ending with a hyphen; at least min of
// them. lastAlpha asks the last label to start with a letter.
func hostLabels(s string, min int, lastAlpha bool) bool {
	labels, start := 0, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			if c := s[i]; !isAlphaNum(c) && c != '-' {
				return false
			}
			continue
		}
		l := s[start:i]
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		labels++
		if i == len(s) && lastAlpha && !isAlpha(l[0]) {
			return false
		}
		start = i + 1
	}
	return labels >= min
}

func fastHandle(s string) bool { return len(s) <= 253 && hostLabels(s, 2, true) }

// fastNSID: at least three labels, the first and last starting with a
// letter, the last of letters and digits only.
func fastNSID(s string) bool {
	if len(s) > 317 || len(s) == 0 || !isAlpha(s[0]) || !hostLabels(s, 3, true) {
		return false
	}
	last := s[strings.LastIndexByte(s, '.')+1:]
	for i := 0; i < len(last); i++ {
		if !isAlphaNum(last[i]) {
			return false
		}
	}
	return true
}

func fastRecordKey(s string) bool {
	if len(s) == 0 || len(s) > 512 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlphaNum(c) && c != '_' && c != '~' && c != '.' && c != ':' && c != '-' {
			return false
		}
	}
	return true
}

// fastATURI: at://AUTHORITY[/COLLECTION[/RKEY]] with each part taken by
// its fast path.
func fastATURI(s string) bool {
	if len(s) > 8192 || !strings.HasPrefix(s, "at://") {
		return false
	}
	rest := s[5:]
	parts := [3]string{}
	n := 0
	for n < 3 {
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			parts[n] = rest
			n++
			break
		}
		if n == 2 {
			return false // a fourth segment
		}
		parts[n] = rest[:i]
		rest = rest[i+1:]
		n++
	}
	auth := parts[0]
	if !(strings.HasPrefix(auth, "did:") && fastDID(auth)) && !fastHandle(auth) {
		return false
	}
	if n >= 2 && !fastNSID(parts[1]) {
		return false
	}
	return n < 3 || fastRecordKey(parts[2])
}

func fastCID(s string) bool {
	if len(s) < 8 || len(s) > 256 || strings.HasPrefix(s, "Qmb") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlphaNum(c) && c != '+' && c != '=' {
			return false
		}
	}
	return true
}

func fastTID(s string) bool {
	if len(s) != 13 || !(s[0] >= '2' && s[0] <= '7' || s[0] >= 'a' && s[0] <= 'j') {
		return false
	}
	for i := 1; i < 13; i++ {
		if c := s[i]; !(c >= '2' && c <= '7' || isLower(c)) {
			return false
		}
	}
	return true
}

// fastLanguage: two or three lower-case letters, then -SUBTAGs of letters
// and digits.
func fastLanguage(s string) bool {
	if len(s) > 128 {
		return false
	}
	i := 0
	for i < len(s) && isLower(s[i]) {
		i++
	}
	if i < 2 || i > 3 {
		return false
	}
	for i < len(s) {
		if s[i] != '-' {
			return false
		}
		j := i + 1
		for j < len(s) && isAlphaNum(s[j]) {
			j++
		}
		if j == i+1 {
			return false
		}
		i = j
	}
	return true
}

// fastURI: a scheme of lower-case letters, then ':' and printable ASCII
// without spaces.
func fastURI(s string) bool {
	if len(s) > 8192 || len(s) < 3 || !isLower(s[0]) {
		return false
	}
	i := 1
	for i < len(s) && i <= 81 && (isLower(s[i]) || s[i] == '.' || s[i] == '-') {
		i++
	}
	if i >= len(s) || i > 81 || s[i] != ':' || i+1 == len(s) {
		return false
	}
	for j := i + 1; j < len(s); j++ {
		if s[j] <= ' ' || s[j] > '~' {
			return false
		}
	}
	return true
}

// fastDatetime: YYYY-MM-DDTHH:MM:SS, optionally .F (1 to 9 digits), and
// Z, every field in range (the day within its month).
func fastDatetime(s string) bool {
	if len(s) < 20 || len(s) > 30 || s[len(s)-1] != 'Z' {
		return false
	}
	for _, i := range [...]int{0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18} {
		if !isDigit(s[i]) {
			return false
		}
	}
	if s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return false
	}
	if frac := s[19 : len(s)-1]; len(frac) > 0 {
		if len(frac) < 2 || len(frac) > 10 || frac[0] != '.' {
			return false
		}
		for i := 1; i < len(frac); i++ {
			if !isDigit(frac[i]) {
				return false
			}
		}
	}
	num := func(i int) int { return int(s[i]-'0')*10 + int(s[i+1]-'0') }
	year := num(0)*100 + num(2)
	month, day, hour, minute, sec := num(5), num(8), num(11), num(14), num(17)
	if month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month-1]
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		days = 29
	}
	return day <= days
}

// graphemesSlow is indigo's grapheme counter.
func graphemesSlow(s string) int { return uniseg.GraphemeClusterCount(s) }

// graphemes counts s's grapheme clusters (indigo's counter, uniseg), with
// the answer for ASCII without carriage returns, where every byte is one.
func graphemes(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] == '\r' {
			return graphemesSlow(s)
		}
	}
	return len(s)
}
