package plc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

func TestParseOperationRejects(t *testing.T) {
	good := `{"type":"plc_operation","rotationKeys":[],"verificationMethods":{},"alsoKnownAs":[],"services":{},"prev":null,"sig":"x"}`
	cases := []struct {
		name string
		in   string
		want error
	}{
		{"not JSON", `{`, ErrMalformedOp},
		{"trailing data", good + `{}`, ErrMalformedOp},
		{"array", `[]`, ErrMalformedOp},
		{"no type", `{"prev":null}`, ErrMalformedOp},
		{"unknown type", `{"type":"plc_other"}`, ErrUnknownType},
		{"unknown field", strings.Replace(good, `"sig"`, `"extra":1,"sig"`, 1), ErrMalformedOp},
		{"duplicate field", strings.Replace(good, `"sig":"x"`, `"sig":"x","sig":"y"`, 1), ErrMalformedOp},
		{"missing services", strings.Replace(good, `"services":{},`, ``, 1), ErrMalformedOp},
		{"rotation key not a string", strings.Replace(good, `"rotationKeys":[]`, `"rotationKeys":[1]`, 1), ErrMalformedOp},
		{"service missing endpoint", strings.Replace(good, `"services":{}`, `"services":{"a":{"type":"t"}}`, 1), ErrMalformedOp},
		{"service extra field", strings.Replace(good, `"services":{}`, `"services":{"a":{"type":"t","endpoint":"e","x":"y"}}`, 1), ErrMalformedOp},
		{"empty sig", strings.Replace(good, `"sig":"x"`, `"sig":""`, 1), ErrMalformedOp},
		{"null sig", strings.Replace(good, `"sig":"x"`, `"sig":null`, 1), ErrMalformedOp},
		{"tombstone null prev", `{"type":"plc_tombstone","prev":null,"sig":"x"}`, ErrMalformedOp},
		{"create with prev", `{"type":"create","signingKey":"a","recoveryKey":"b","handle":"h","service":"s","prev":"bafy","sig":"x"}`, ErrMalformedOp},
		{"invalid UTF-8", "{\"type\":\"plc_tombstone\",\"prev\":\"\xff\"}", ErrMalformedOp},
		{"deep nesting", strings.Repeat("[", 100) + strings.Repeat("]", 100), ErrMalformedOp},
		{"control character", "{\"type\":\"a\x01\"}", ErrMalformedOp},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseOperation([]byte(c.in))
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

// Operations parsed from the interop logs re-encode to the same CID the
// directory gave them, and their JSON round-trips.
func TestOperationJSONRoundTripKeepsCID(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(interopDir, "valid", "*.json"))
	if len(files) == 0 {
		t.Fatal("interop vectors missing")
	}
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		entries, err := ParseLog(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			again, err := ParseOperation(e.Operation.AppendJSON(nil))
			if err != nil {
				t.Fatalf("%s: re-parse: %v", e.CID, err)
			}
			if got := again.CID().String(); got != e.CID {
				t.Fatalf("%s: round trip gives %s", e.CID, got)
			}
			if !bytes.Equal(again.AppendJSON(nil), e.Operation.AppendJSON(nil)) {
				t.Fatalf("%s: JSON not stable", e.CID)
			}
			n++
		}
	}
	if n < 20 {
		t.Fatalf("only %d operations checked", n)
	}
}

func TestDecodeSigStrictness(t *testing.T) {
	valid := "rLbkRO-IDfN_HVaDaf-_uirfV0SntYU6dKoZ5sJXzzoZOeLenFqx2xkXaIz0pFMUXjYxm-UutuTz21HCtILwNg"
	cases := []struct {
		name string
		sig  string
		want error
	}{
		{"valid", valid, nil},
		{"padding char", valid + "==", ErrSigEncoding},
		{"newline", valid[:40] + "\n" + valid[40:], ErrSigEncoding},
		{"carriage return", valid + "\r", ErrSigEncoding},
		{"standard alphabet", strings.ReplaceAll(strings.ReplaceAll(valid, "-", "+"), "_", "/"), ErrSigEncoding},
		{"nonzero padding bits", valid[:len(valid)-1] + "h", ErrSigEncoding},
		{"empty", "", ErrNotSigned},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeSig(c.sig)
			if !errors.Is(err, c.want) && !(c.want == nil && err == nil) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func mustKey(t testing.TB, p256 bool) atcrypto.PrivateKey {
	t.Helper()
	return testfixtures.NewKey(t, p256)
}

func dk(t testing.TB, k atcrypto.PrivateKey) string {
	p, err := k.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return p.DIDKey()
}

func TestSignProducesVerifiableLowSSignatures(t *testing.T) {
	for _, p256 := range []bool{false, true} {
		k := mustKey(t, p256)
		pub, _ := k.PublicKey()
		op := &Operation{Type: TypeOperation, RotationKeys: []string{dk(t, k)}}
		for i := 0; i < 20; i++ {
			op.AlsoKnownAs = []string{"at://h" + strings.Repeat("x", i) + ".test"}
			if err := Sign(op, k); err != nil {
				t.Fatal(err)
			}
			if strings.ContainsAny(op.Sig, "=+/") {
				t.Fatalf("sig %q is not unpadded base64url", op.Sig)
			}
			if err := VerifySig(op, pub); err != nil {
				t.Fatalf("p256=%v: %v", p256, err)
			}
			op.AlsoKnownAs[0] += "x"
			if err := VerifySig(op, pub); !errors.Is(err, ErrBadOpSignature) {
				t.Fatalf("tampered op verifies: %v", err)
			}
		}
	}
}

func TestCheckLimits(t *testing.T) {
	k := mustKey(t, false)
	base := func() *Operation {
		return &Operation{Type: TypeOperation, RotationKeys: []string{dk(t, k)}, AlsoKnownAs: []string{"at://a.test"},
			VerificationMethods: []VerificationMethod{{ID: "atproto", Key: dk(t, k)}},
			Services:            []Service{{ID: "atproto_pds", Type: "AtprotoPersonalDataServer", Endpoint: "https://p.test"}}}
	}
	keys := func(n int) []string {
		var out []string
		for i := 0; i < n; i++ {
			out = append(out, dk(t, mustKey(t, i%2 == 0)))
		}
		return out
	}
	cases := []struct {
		name string
		mod  func(*Operation)
		want error
	}{
		{"within limits", func(*Operation) {}, nil},
		{"five rotation keys", func(o *Operation) { o.RotationKeys = keys(5) }, nil},
		{"six rotation keys", func(o *Operation) { o.RotationKeys = keys(6) }, ErrLimit},
		{"no rotation keys", func(o *Operation) { o.RotationKeys = nil }, ErrLimit},
		{"duplicate rotation key", func(o *Operation) { o.RotationKeys = append(o.RotationKeys, o.RotationKeys[0]) }, ErrLimit},
		{"bad rotation key", func(o *Operation) { o.RotationKeys = []string{"did:key:zzz"} }, ErrBadDIDKey},
		{"aka 258 chars", func(o *Operation) { o.AlsoKnownAs = []string{"at://" + strings.Repeat("a", 253)} }, nil},
		{"aka 259 chars", func(o *Operation) { o.AlsoKnownAs = []string{"at://" + strings.Repeat("a", 254)} }, ErrLimit},
		{"duplicate aka", func(o *Operation) { o.AlsoKnownAs = []string{"at://a", "at://a"} }, ErrLimit},
		{"endpoint 512 chars", func(o *Operation) { o.Services[0].Endpoint = strings.Repeat("e", 512) }, nil},
		{"endpoint 513 chars", func(o *Operation) { o.Services[0].Endpoint = strings.Repeat("e", 513) }, ErrLimit},
		{"service type 256 chars", func(o *Operation) { o.Services[0].Type = strings.Repeat("t", 256) }, nil},
		{"service type 257 chars", func(o *Operation) { o.Services[0].Type = strings.Repeat("t", 257) }, ErrLimit},
		{"service id 33 chars", func(o *Operation) { o.Services[0].ID = strings.Repeat("i", 33) }, ErrLimit},
		{"eleven services", func(o *Operation) {
			for i := 0; i < 10; i++ {
				o.Services = append(o.Services, Service{ID: string(rune('a' + i)), Type: "t", Endpoint: "https://e"})
			}
		}, ErrLimit},
		{"ten verification methods", func(o *Operation) {
			for i := 0; i < 9; i++ {
				o.VerificationMethods = append(o.VerificationMethods, VerificationMethod{ID: string(rune('a' + i)), Key: dk(t, k)})
			}
		}, nil},
		{"eleven verification methods", func(o *Operation) {
			for i := 0; i < 10; i++ {
				o.VerificationMethods = append(o.VerificationMethods, VerificationMethod{ID: string(rune('a' + i)), Key: dk(t, k)})
			}
		}, ErrLimit},
		{"vm id 33 chars", func(o *Operation) { o.VerificationMethods[0].ID = strings.Repeat("i", 33) }, ErrLimit},
		{"vm key over 256 chars", func(o *Operation) { o.VerificationMethods[0].Key = "did:key:z" + strings.Repeat("a", 248) }, ErrLimit},
		{"rotation key over 256 chars", func(o *Operation) { o.RotationKeys[0] = "did:key:z" + strings.Repeat("a", 248) }, ErrLimit},
		{"bad vm key", func(o *Operation) { o.VerificationMethods[0].Key = "nope" }, ErrBadDIDKey},
		{"eleven aka", func(o *Operation) {
			for i := 0; i < 10; i++ {
				o.AlsoKnownAs = append(o.AlsoKnownAs, fmt.Sprintf("at://%d.test", i))
			}
		}, ErrLimit},
		{"over 4000 bytes", func(o *Operation) {
			for i := 0; i < 9; i++ {
				o.Services = append(o.Services, Service{ID: strings.Repeat(string(rune('a'+i)), 32), Type: strings.Repeat("t", 96), Endpoint: strings.Repeat("e", 400)})
			}
		}, ErrLimit},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			op := base()
			c.mod(op)
			err := CheckLimits(op)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

// A scenario: genesis, then an update, as building blocks for rollback tests.
func scenario(t *testing.T) (*State, atcrypto.PrivateKey, atcrypto.PrivateKey, time.Time) {
	t.Helper()
	rec, main := mustKey(t, false), mustKey(t, true)
	op, genesisDID, err := NewGenesis(GenesisParams{RotationKeys: []string{dk(t, rec), dk(t, main)}, SigningKey: dk(t, main), Handle: "a.test", PDS: "p.test"}, main)
	if err != nil {
		t.Fatal(err)
	}
	did := genesisDID.String()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	st, err := ValidateLog(genesisDID, []LogEntry{{DID: did, Operation: op, CID: op.CID().String(), CreatedAt: t0, HasMeta: true}})
	if err != nil {
		t.Fatal(err)
	}
	t1 := t0.Add(time.Hour)
	next, err := NextOperation(st, Update{Handle: "evil.test"}, main, t1)
	if err != nil {
		t.Fatal(err)
	}
	if st, err = st.Append(next, t1); err != nil {
		t.Fatal(err)
	}
	return st, rec, main, t1
}

func TestPlanNullifyRules(t *testing.T) {
	st, rec, main, t1 := scenario(t)
	stranger := mustKey(t, false)
	cases := []struct {
		name string
		key  atcrypto.PrivateKey
		now  time.Time
		want error
	}{
		{"recovery key inside the window", rec, t1.Add(time.Hour), nil},
		{"recovery key at exactly 72h", rec, t1.Add(RecoveryWindow), nil},
		{"recovery key at 72h and 1ms", rec, t1.Add(RecoveryWindow + time.Millisecond), ErrLateRecovery},
		{"the key that signed the nullified op", main, t1.Add(time.Hour), ErrKeyPriority},
		{"not a rotation key", stranger, t1.Add(time.Hour), ErrNotRotationKey},
		{"before the head was created", rec, t1, ErrTimestamp},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan, err := PlanNullify(st, 0, c.key, c.now)
			if c.want != nil {
				if !errors.Is(err, c.want) {
					t.Fatalf("got %v, want %v", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Nullified) != 1 || plan.Nullified[0] != 1 || !plan.Deadline.Equal(t1.Add(RecoveryWindow)) {
				t.Fatalf("plan %+v", plan)
			}
			if !plan.After.Entries[1].Nullified || plan.After.Current().PrimaryHandle() != "a.test" {
				t.Fatalf("state after: %+v", plan.After.Entries)
			}
		})
	}
	if _, err := PlanNullify(st, 1, rec, t1.Add(time.Hour)); !errors.Is(err, ErrRollback) {
		t.Fatalf("nullifying from the head: %v", err)
	}
}

func TestPlanRestoreWorksAfterTheWindow(t *testing.T) {
	st, rec, main, t1 := scenario(t)
	late := t1.Add(30 * 24 * time.Hour)
	if _, err := PlanNullify(st, 0, rec, late); !errors.Is(err, ErrLateRecovery) {
		t.Fatalf("nullify late: %v", err)
	}
	plan, err := PlanRestore(st, 0, main, late)
	if err != nil {
		t.Fatal(err)
	}
	if plan.After.Current().PrimaryHandle() != "a.test" || len(plan.After.Nullified) != 0 || plan.Op.Prev != st.HeadCID() {
		t.Fatalf("restore: %+v", plan)
	}
}

func TestNextOperationAfterTombstoneRefused(t *testing.T) {
	st, rec, main, t1 := scenario(t)
	tomb, err := NextOperation(st, Update{Tombstone: true}, main, t1.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	st2, err := st.Append(tomb, t1.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NextOperation(st2, Update{Handle: "b.test"}, rec, t1.Add(2*time.Hour)); !errors.Is(err, ErrTombstoned) {
		t.Fatalf("got %v", err)
	}
	if _, err := st2.Document(); !errors.Is(err, ErrTombstoned) {
		t.Fatalf("document of a tombstoned DID: %v", err)
	}
}

func TestValidateLogRejectsStructuralProblems(t *testing.T) {
	st, _, main, t1 := scenario(t)
	entries := st.LogEntries()
	mutate := []struct {
		name string
		mod  func([]LogEntry) []LogEntry
		want error
	}{
		{"genesis not first", func(e []LogEntry) []LogEntry { return []LogEntry{e[1], e[0]} }, ErrMisordered},
		{"wrong CID", func(e []LogEntry) []LogEntry { e[1].CID = e[0].CID; return e }, ErrCIDMismatch},
		{"other DID", func(e []LogEntry) []LogEntry { e[1].DID = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"; return e }, ErrLogDIDMismatch},
		{"timestamps not increasing", func(e []LogEntry) []LogEntry { e[1].CreatedAt = e[0].CreatedAt; return e }, ErrTimestamp},
		{"claims nullified", func(e []LogEntry) []LogEntry { e[1].Nullified = true; return e }, ErrNullifiedMismatch},
		{"duplicate entry", func(e []LogEntry) []LogEntry { return append(e, e[1]) }, ErrMisordered},
		{"unknown prev", func(e []LogEntry) []LogEntry {
			op := e[1].Operation.Clone()
			op.Prev = "bafyreigcxay6ucqlwowfpu35alyxqtv3c4vsj7gmdtmnidsnqs6nblyarq"
			Sign(op, main)
			return append(e, LogEntry{DID: e[0].DID, Operation: op, CID: op.CID().String(), CreatedAt: t1.Add(time.Hour), HasMeta: true})
		}, ErrPrevNotFound},
	}
	for _, c := range mutate {
		t.Run(c.name, func(t *testing.T) {
			e := append([]LogEntry(nil), entries...)
			_, err := ValidateLog("", c.mod(e))
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	if _, err := ValidateLog("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", entries); !errors.Is(err, ErrLogDIDMismatch) && !errors.Is(err, ErrGenesisHash) {
		t.Fatalf("log for another DID: %v", err)
	}
	if _, err := ValidateLog("", nil); !errors.Is(err, ErrEmptyLog) {
		t.Fatalf("empty log: %v", err)
	}
}

// A plain list of operations (the /log form) validates, and forks in it
// are refused because without timestamps the 72h rule cannot be checked.
func TestPlainOperationListValidates(t *testing.T) {
	st, _, _, _ := scenario(t)
	var plain []LogEntry
	for i := 0; i < st.Len(); i++ {
		plain = append(plain, LogEntry{Operation: st.Op(i)})
	}
	got, err := ValidateLog("", plain)
	if err != nil || got.DID != st.DID {
		t.Fatalf("%v %v", got, err)
	}
}
