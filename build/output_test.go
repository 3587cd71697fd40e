package build

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteFileAtomicLeavesNothingOnFailure: a failing writer or check
// leaves neither the destination nor a temporary file; an existing
// destination is untouched.
func TestWriteFileAtomicLeavesNothingOnFailure(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name  string
		write func(io.Writer) error
		check func(string) error
	}{
		{"write fails", func(w io.Writer) error { w.Write([]byte("partial")); return boom }, nil},
		{"check fails", func(w io.Writer) error { _, err := w.Write([]byte("complete")); return err }, func(string) error { return boom }},
	}
	for _, tc := range cases {
		for _, existing := range []bool{false, true} {
			t.Run(tc.name, func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, "out.car")
				if existing {
					os.WriteFile(path, []byte("old"), 0o644)
				}
				if err := WriteFileAtomic(path, 0o644, tc.write, tc.check); !errors.Is(err, boom) {
					t.Fatalf("got %v, want boom", err)
				}
				ents, _ := os.ReadDir(dir)
				if existing {
					if b, _ := os.ReadFile(path); string(b) != "old" || len(ents) != 1 {
						t.Fatalf("existing file changed (%q) or extra files (%d)", b, len(ents))
					}
				} else if len(ents) != 0 {
					t.Fatalf("left %s behind", ents[0].Name())
				}
			})
		}
	}
}

func TestWriteFileAtomicReplacesOnlyAfterTheCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.car")
	os.WriteFile(path, []byte("old"), 0o644)
	err := WriteFileAtomic(path, 0o644, func(w io.Writer) error {
		_, err := w.Write([]byte("new"))
		return err
	}, func(tmp string) error {
		if b, _ := os.ReadFile(path); string(b) != "old" {
			t.Fatal("destination replaced before the check")
		}
		if b, _ := os.ReadFile(tmp); string(b) != "new" {
			t.Fatalf("temporary file holds %q at check time", b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Fatalf("destination holds %q", b)
	}
}

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
