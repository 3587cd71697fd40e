package plc

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseOperation: parsing never panics, and whatever parses re-encodes
// to JSON that parses to the same CID.
func FuzzParseOperation(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(interopDir, "*", "*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		if entries, err := ParseLog(b); err == nil {
			for _, e := range entries {
				f.Add(e.Operation.AppendJSON(nil))
			}
		}
	}
	f.Add([]byte(`{"type":"plc_tombstone","prev":"bafy","sig":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		op, err := ParseOperation(data)
		if err != nil {
			return
		}
		again, err := ParseOperation(op.AppendJSON(nil))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", op.AppendJSON(nil), err)
		}
		if again.CID() != op.CID() {
			t.Fatalf("CID changed on round trip")
		}
		_, _ = DIDFromGenesis(op)
		_ = CheckLimits(op)
		_, _ = ValidateLog("", []LogEntry{{Operation: op}})
	})
}

// FuzzValidateLog: validating any parsable log never panics.
func FuzzValidateLog(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(interopDir, "*", "*.json"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseLog(data)
		if err != nil {
			return
		}
		st, err := ValidateLog("", entries)
		if err == nil && !st.Tombstoned() {
			_, _ = st.Document()
			_, _ = st.Data()
		}
	})
}
