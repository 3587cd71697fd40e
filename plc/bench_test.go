package plc

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// genExport builds an export stream of dids identities with opsPer
// operations each (genesis + handle updates, k256 keys), interleaved by
// time as the directory exports them.
func genExport(tb testing.TB, dids, opsPer int) ([]byte, int) {
	tb.Helper()
	type line struct {
		at  time.Time
		raw []byte
	}
	var lines []line
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for d := 0; d < dids; d++ {
		rec, main := mustKey(tb, false), mustKey(tb, false)
		op, genesisDID, err := NewGenesis(GenesisParams{RotationKeys: []string{dk(tb, rec), dk(tb, main)}, SigningKey: dk(tb, main), Handle: fmt.Sprintf("u%d.example.com", d), PDS: "https://pds.example.com"}, main)
		if err != nil {
			tb.Fatal(err)
		}
		did := genesisDID.String()
		at := t0.Add(time.Duration(d) * time.Second)
		e := LogEntry{DID: did, Operation: op, CID: op.CID().String(), CreatedAt: at, HasMeta: true}
		lines = append(lines, line{at, e.AppendJSON(nil)})
		prev := op
		for i := 1; i < opsPer; i++ {
			n := prev.Normalize()
			n.Prev, n.Sig = prev.CID().String(), ""
			n.AlsoKnownAs = []string{fmt.Sprintf("at://u%d-%d.example.com", d, i)}
			if err := Sign(n, main); err != nil {
				tb.Fatal(err)
			}
			at = at.Add(time.Duration(dids) * time.Second)
			e := LogEntry{DID: did, Operation: n, CID: n.CID().String(), CreatedAt: at, HasMeta: true}
			lines = append(lines, line{at, e.AppendJSON(nil)})
			prev = n
		}
	}
	// interleave DIDs by time, as the directory's export does
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].at.Before(lines[j].at) })
	var buf bytes.Buffer
	for _, l := range lines {
		buf.Write(l.raw)
		buf.WriteByte('\n')
	}
	return buf.Bytes(), len(lines)
}

var (
	exportOnce sync.Once
	exportData []byte
	exportOps  int
)

func TestValidateExportGeneratedStreamAllValid(t *testing.T) {
	data, n := genExport(t, 20, 4)
	res, err := ValidateExport(bytes.NewReader(append(data, []byte("not json\n")...)), ExportOptions{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.DIDs != 20 || res.Valid != 20 || len(res.Invalid) != 0 || int(res.Lines) != n+1 || res.BadLines != 1 {
		t.Fatalf("%+v", res)
	}
}

// BenchmarkValidateExport validates a generated export (2,000 DIDs x 5
// operations) with all cores; ops/s is operations validated per second.
func BenchmarkValidateExport(b *testing.B) {
	exportOnce.Do(func() { exportData, exportOps = genExport(b, 2000, 5) })
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			b.SetBytes(int64(len(exportData)))
			for i := 0; i < b.N; i++ {
				res, err := ValidateExport(bytes.NewReader(exportData), ExportOptions{Workers: workers})
				if err != nil || len(res.Invalid) != 0 {
					b.Fatal(err, res.Invalid)
				}
			}
			b.ReportMetric(float64(exportOps)*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

// BenchmarkValidateLog validates one 5-operation audit log.
func BenchmarkValidateLog(b *testing.B) {
	data, _ := genExport(b, 1, 5)
	entries := make([]LogEntry, 0, 5)
	for _, l := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		e, err := ParseLogEntry(l)
		if err != nil {
			b.Fatal(err)
		}
		entries = append(entries, e)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ValidateLog("", entries); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(entries))*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkVerifySignature is the bare cost of one signature check
// (sha256 of a typical operation's unsigned DAG-CBOR plus ECDSA verify), the
// floor for log validation.
func BenchmarkVerifySignature(b *testing.B) {
	for _, p256 := range []bool{false, true} {
		name := "k256"
		if p256 {
			name = "p256"
		}
		b.Run(name, func(b *testing.B) {
			k := mustKey(b, p256)
			op := &Operation{Type: TypeOperation, RotationKeys: []string{dk(b, k), dk(b, k)}, AlsoKnownAs: []string{"at://u.example.com"},
				VerificationMethods: []VerificationMethod{{ID: "atproto", Key: dk(b, k)}},
				Services:            []Service{{ID: "atproto_pds", Type: "AtprotoPersonalDataServer", Endpoint: "https://pds.example.com"}}}
			if err := Sign(op, k); err != nil {
				b.Fatal(err)
			}
			data := op.UnsignedCBOR()
			sig, _ := DecodeSig(op.Sig)
			pub, _ := k.PublicKey()
			var _ atcrypto.PublicKey = pub
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := pub.HashAndVerify(data, sig); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
		})
	}
}

// Failures of DIDs or operations on a known-bad list are reported apart
// from the invalid ones; the go-didplc lists parse as such lists.
func TestValidateExportSetsKnownBadFailuresApart(t *testing.T) {
	data, _ := genExport(t, 6, 3)
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	// Break the second operation of three DIDs: a nullified flag the
	// rules do not give.
	seen := map[string]int{}
	broken := map[string]string{} // DID -> CID of its broken entry
	for i, l := range lines {
		e, err := ParseLogEntry(l)
		if err != nil {
			t.Fatal(err)
		}
		seen[e.DID]++
		if seen[e.DID] == 2 && len(broken) < 3 {
			broken[e.DID] = e.CID
			lines[i] = bytes.Replace(l, []byte(`"nullified":false`), []byte(`"nullified":true`), 1)
		}
	}
	var dids []string
	for d := range broken {
		dids = append(dids, d)
	}
	sort.Strings(dids)
	var known KnownBad
	list := fmt.Sprintf(`[%q, %q]`, dids[0], broken[dids[1]])
	if n, err := known.Add(bytes.NewReader([]byte(list))); err != nil || n != 2 {
		t.Fatalf("Add: %d, %v", n, err)
	}
	in := append(bytes.Join(lines, []byte("\n")), '\n')
	res, err := ValidateExport(bytes.NewReader(in), ExportOptions{Workers: 2, KnownBad: &known})
	if err != nil {
		t.Fatal(err)
	}
	if res.Valid != 3 || len(res.Invalid) != 1 || res.Invalid[0].DID != dids[2] ||
		len(res.KnownBad) != 2 || res.KnownBad[0].DID != dids[0] || res.KnownBad[1].DID != dids[1] {
		t.Fatalf("valid %d, invalid %v, known %v", res.Valid, res.Invalid, res.KnownBad)
	}
	res, _ = ValidateExport(bytes.NewReader(in), ExportOptions{Workers: 2})
	if len(res.Invalid) != 3 || len(res.KnownBad) != 0 {
		t.Fatalf("without the list: invalid %d, known %d", len(res.Invalid), len(res.KnownBad))
	}
	var prod KnownBad
	for _, name := range []string{"known_bad_dids.json", "known_bad_cids.json"} {
		f, err := os.Open(testfixtures.Path(t, "corpus", "go-didplc", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := prod.Add(f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		f.Close()
	}
	if len(prod.dids) != 6024 || len(prod.cids) != 6027 {
		t.Errorf("go-didplc lists: %d DIDs, %d CIDs", len(prod.dids), len(prod.cids))
	}
}
