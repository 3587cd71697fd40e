package plc

import (
	"slices"
	"testing"
	"unsafe"
)

// A compact chain's packed rotation keys unpack to the same list, whatever
// the keys (did:keys are held as their bytes, anything else as text), and
// an unchanged list is held once.
func TestPackedKeysUnpackToTheSameList(t *testing.T) {
	k256 := "did:key:zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF"
	for _, keys := range [][]string{
		nil,
		{k256},
		{k256, "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169"},
		{""},
		{"", ""},
		{"not a key", k256 + " ", "did:key:z", "did:key:z0OIl", "did:key:z1" + k256[9:]},
		{k256, k256, k256, k256, k256},
	} {
		n := node{keys: packKeys(keys, "")}
		if got := n.keyList(); !slices.Equal(got, keys) {
			t.Errorf("%q unpacks to %q", keys, got)
		}
	}
	first := packKeys([]string{k256}, "")
	if again := packKeys([]string{k256}, first); unsafe.StringData(again) != unsafe.StringData(first) {
		t.Error("the same keys are held twice")
	}
	if len(first) >= len(k256) {
		t.Errorf("a did:key packs to %d bytes, its text is %d", len(first), len(k256))
	}
}
