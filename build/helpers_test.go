package build

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/arbor-atproto/arbor/archive"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/mr-tron/base58"
	"github.com/multiformats/go-multihash"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/repo"
)

// shared is the reference material in testdata/ at the repository root
// (copies of ../shared).
var shared = testfixtures.MustDir()

func interop(parts ...string) string {
	return filepath.Join(append([]string{shared, "interop"}, parts...)...)
}

func corpus(parts ...string) string {
	return filepath.Join(append([]string{shared, "corpus"}, parts...)...)
}

func golden(parts ...string) string {
	return filepath.Join(append([]string{"..", "golden"}, parts...)...)
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// testKeys are private keys from the W3C did:key vectors, with the did:key
// each must give.
func testKeys(t testing.TB) map[string]struct {
	key    atcrypto.PrivateKeyExportable
	didKey string
} {
	t.Helper()
	var k256 []struct{ PrivateKeyBytesHex, PublicDidKey string }
	readJSON(t, interop("crypto", "w3c_didkey_K256.json"), &k256)
	var p256 []struct{ PrivateKeyBytesBase58, PublicDidKey string }
	readJSON(t, interop("crypto", "w3c_didkey_P256.json"), &p256)
	kb, err := hex.DecodeString(k256[0].PrivateKeyBytesHex)
	if err != nil {
		t.Fatal(err)
	}
	kk, err := atcrypto.ParsePrivateBytesK256(kb)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := base58.Decode(p256[0].PrivateKeyBytesBase58)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := atcrypto.ParsePrivateBytesP256(pb)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]struct {
		key    atcrypto.PrivateKeyExportable
		didKey string
	}{
		"k256": {kk, k256[0].PublicDidKey},
		"p256": {pk, p256[0].PublicDidKey},
	}
}

// readArchive reads a CAR from bytes with record bodies.
func readArchive(t testing.TB, b []byte) *archive.Bodies {
	t.Helper()
	a, err := archive.ReadWithBodies(bytes.NewReader(b), archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exportDir exports the repo CAR at path into a new temporary directory.
func exportDir(t testing.TB, path string) (string, *archive.Bodies) {
	t.Helper()
	a := readArchive(t, readFile(t, path))
	dir := t.TempDir()
	if _, err := a.Export(dir); err != nil {
		t.Fatalf("export %s: %v", path, err)
	}
	return dir, a
}

func mustHash(b []byte) multihash.Multihash {
	h, err := multihash.Sum(b, multihash.SHA2_256, -1)
	if err != nil {
		panic(err)
	}
	return h
}

func timeOfTID(t testing.TB, s string) time.Time {
	t.Helper()
	tid, err := repo.ParseTID(s)
	if err != nil {
		t.Fatal(err)
	}
	return tid.Time()
}
