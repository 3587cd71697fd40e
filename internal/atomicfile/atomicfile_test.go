package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// entries lists a folder's names.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// TestWriteFileLeavesNothingOnFailure: a failing writer or check
// leaves neither the destination nor a temporary file; an existing
// destination is untouched.
func TestWriteFileLeavesNothingOnFailure(t *testing.T) {
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
				if err := WriteFile(path, 0o644, tc.write, tc.check); !errors.Is(err, boom) {
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

func TestWriteFileReplacesOnlyAfterTheCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.car")
	os.WriteFile(path, []byte("old"), 0o644)
	err := WriteFile(path, 0o644, func(w io.Writer) error {
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

func TestTempCommitsOnceAndDiscardsOtherwise(t *testing.T) {
	dir := t.TempDir()
	tmp, err := Create(dir, ".blob-*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmp.File().WriteString("bytes"); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "named-at-the-end")
	if err := tmp.Commit(target, 0o600); err != nil {
		t.Fatal(err)
	}
	tmp.Discard() // after Commit: nothing
	if b, err := os.ReadFile(target); err != nil || string(b) != "bytes" {
		t.Fatalf("target: %q, %v", b, err)
	}
	other, err := Create(dir, ".blob-*")
	if err != nil {
		t.Fatal(err)
	}
	other.Discard()
	if names := entries(t, dir); len(names) != 1 || names[0] != "named-at-the-end" {
		t.Errorf("folder holds %v; want only the committed file", names)
	}
}

// TestWriteBytesReplacesWholeOrNotAtAll: the file holds the new bytes with
// the mode asked for and no temporary file is left; when the rename fails
// (the path is a folder), the temporary file is removed too.
func TestWriteBytesReplacesWholeOrNotAtAll(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	os.WriteFile(path, []byte("old"), 0o644)
	if err := WriteBytes(path, ".state-*", []byte("new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new\n" {
		t.Fatalf("file holds %q", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	if got := entries(t, dir); len(got) != 1 {
		t.Fatalf("left behind: %v", got)
	}
	sub := filepath.Join(dir, "sub")
	os.MkdirAll(filepath.Join(sub, "kept"), 0o755)
	if err := WriteBytes(sub, ".sub-*", []byte("x"), 0o600); err == nil {
		t.Fatal("replacing a folder was not an error")
	}
	if got := entries(t, dir); len(got) != 2 {
		t.Fatalf("left behind: %v", got)
	}
}
