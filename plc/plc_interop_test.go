package plc

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// interopDir is the did:plc audit-log vectors in testdata/ at the
// repository root (copies of ../shared/interop/plc).
var interopDir = filepath.Join(testfixtures.MustDir(), "interop", "plc", "audit_log")

func readShared(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("shared vector missing: %v", err)
	}
	return b
}

func listShared(t *testing.T, dir string, want int) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) < want {
		t.Fatalf("expected at least %d vectors in %s, found %d (%v)", want, dir, len(files), err)
	}
	return files
}

// Every valid audit log of the did:plc interop suite validates, and the
// nullified flags it carries are the ones the rules produce.
func TestInteropValidLogsValidate(t *testing.T) {
	for _, f := range listShared(t, filepath.Join(interopDir, "valid"), 10) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			entries, err := ParseLog(readShared(t, f))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			st, err := ValidateLog("", entries)
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			for i, e := range entries {
				if st.Entries[i].Nullified != e.Nullified {
					t.Errorf("entry %d nullified=%v, vector says %v", i, st.Entries[i].Nullified, e.Nullified)
				}
			}
			if !st.Tombstoned() {
				if _, err := st.Document(); err != nil {
					t.Errorf("document: %v", err)
				}
			}
		})
	}
}

// Every invalid audit log is rejected, for the reason its name gives.
func TestInteropInvalidLogsRejectedForTheirReason(t *testing.T) {
	want := map[string]error{
		"log_invalid_nullification_reused_key.json": ErrKeyPriority,
		"log_invalid_nullification_too_slow.json":   ErrLateRecovery,
		"log_invalid_sig_b64_newline.json":          ErrSigEncoding,
		"log_invalid_sig_b64_padding_bits.json":     ErrSigEncoding,
		"log_invalid_sig_b64_padding_chars.json":    ErrSigEncoding,
		"log_invalid_sig_der.json":                  ErrBadOpSignature,
		"log_invalid_sig_k256_high_s.json":          ErrBadOpSignature,
		"log_invalid_sig_p256_high_s.json":          ErrBadOpSignature,
		"log_invalid_update_nullified.json":         ErrPrevNullified,
		"log_invalid_update_tombstoned.json":        ErrAfterTombstone,
	}
	files := listShared(t, filepath.Join(interopDir, "invalid"), 10)
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			reason, ok := want[name]
			if !ok {
				t.Fatalf("new invalid vector %s: add its expected reason", name)
			}
			entries, err := ParseLog(readShared(t, f))
			if err == nil {
				_, err = ValidateLog("", entries)
			}
			if err == nil {
				t.Fatal("accepted an invalid log")
			}
			if !errors.Is(err, reason) {
				t.Fatalf("rejected for %q, want %v", err, reason)
			}
			var oe *OpError
			if !errors.As(err, &oe) || !strings.HasPrefix(oe.CID, "bafy") {
				t.Errorf("error does not name the operation: %v", err)
			}
		})
	}
}
