package build

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteKeyFileIsPrivateAndNeverOverwrites(t *testing.T) {
	key := testKeys(t)["p256"].key
	path := filepath.Join(t.TempDir(), "k")
	if err := WriteKeyFile(path, key); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %04o", st.Mode().Perm())
	}
	if b, _ := os.ReadFile(path); string(b) != key.Multibase()+"\n" {
		t.Fatal("file does not hold the key's multibase form")
	}
	if err := WriteKeyFile(path, testKeys(t)["k256"].key); !errors.Is(err, ErrKeyFileExists) {
		t.Fatalf("got %v, want ErrKeyFileExists", err)
	}
	if b, _ := os.ReadFile(path); string(b) != key.Multibase()+"\n" {
		t.Fatal("existing key file overwritten")
	}
}
