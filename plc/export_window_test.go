package plc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// The bounded-memory export path (ValidateExport) is checked against the
// whole-log rules (ValidateLog over each DID's complete log, which is what
// ValidateExport did before it kept only the state later entries can
// reach): same verdict for every DID, same failing entry, same reason.

// verdict is one DID's outcome in a form both paths give.
type verdict struct {
	valid, known bool
	index        int
	reasons      string // the sentinels the error wraps
}

var allSentinels = []error{ErrMalformedOp, ErrUnknownType, ErrNotSigned, ErrSigEncoding, ErrBadOpSignature, ErrBadDIDKey,
	ErrGenesisHash, ErrBadDID, ErrLogDIDMismatch, ErrCIDMismatch, ErrMisordered, ErrPrevNotFound, ErrPrevNullified,
	ErrAfterTombstone, ErrTimestamp, ErrLateRecovery, ErrKeyPriority, ErrNullifiedMismatch, ErrNoTimestamps, ErrLimit}

func verdictOf(err error, known bool) verdict {
	if err == nil {
		return verdict{valid: true, index: -1}
	}
	v := verdict{known: known, index: -1}
	var oe *OpError
	if errors.As(err, &oe) {
		v.index = oe.Index
	}
	var rs []string
	for _, s := range allSentinels {
		if errors.Is(err, s) {
			rs = append(rs, s.Error())
		}
	}
	v.reasons = strings.Join(rs, "; ")
	return v
}

// wholeLogVerdicts groups an export's lines by DID and validates each DID's
// complete log with ValidateLog.
func wholeLogVerdicts(t *testing.T, data []byte, known *KnownBad) map[string]verdict {
	t.Helper()
	logs := map[string][]LogEntry{}
	for _, l := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		e, err := ParseLogEntry(l)
		if err != nil {
			t.Fatalf("test stream line does not parse: %v", err)
		}
		logs[e.DID] = append(logs[e.DID], e)
	}
	out := map[string]verdict{}
	for did, entries := range logs {
		_, err := ValidateLog(syntax.DID(did), entries)
		out[did] = verdictOf(err, err != nil && known.Covers(did, err))
	}
	return out
}

func exportVerdicts(t *testing.T, data []byte, opts ExportOptions) (map[string]verdict, *ExportResult) {
	t.Helper()
	res, err := ValidateExport(bytes.NewReader(data), opts)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]verdict{}
	for _, f := range res.Invalid {
		out[f.DID] = verdictOf(f.Err, false)
	}
	for _, f := range res.KnownBad {
		out[f.DID] = verdictOf(f.Err, true)
	}
	if res.DIDs-res.Valid != len(out) {
		t.Fatalf("%d DIDs, %d valid, %d failures listed", res.DIDs, res.Valid, len(out))
	}
	return out, res
}

// compareVerdicts fails on any DID whose verdict differs. outside lists the
// DIDs where the export path may name the documented reason instead: a
// prev that has left the window (ErrPrevNotFound) where the whole log
// shows why it is out of reach.
func compareVerdicts(t *testing.T, whole map[string]verdict, got map[string]verdict, outside map[string]bool) {
	t.Helper()
	for did, w := range whole {
		g, failed := got[did]
		if !failed {
			g = verdict{valid: true, index: -1}
		}
		if g == w {
			continue
		}
		if outside[did] && !w.valid && g.index == w.index && g.reasons == ErrPrevNotFound.Error() {
			continue
		}
		t.Errorf("%s: export path %+v, whole log %+v", did, g, w)
	}
}

// exportOf writes entries as export lines, sorted by time like the
// directory's export.
func exportOf(entries []LogEntry) []byte {
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].CreatedAt.Before(entries[j].CreatedAt) })
	var b []byte
	for _, e := range entries {
		b = append(e.AppendJSON(b), '\n')
	}
	return b
}

// Every interop audit log, valid or not, gets the same verdict as an export
// stream as it gets as a whole log.
func TestExportPathGivesInteropLogsTheirWholeLogVerdicts(t *testing.T) {
	for _, sub := range []string{"valid", "invalid"} {
		for _, f := range listShared(t, filepath.Join(interopDir, sub), 10) {
			entries, err := ParseLog(readShared(t, f))
			if err != nil {
				continue // not a log at all: nothing to stream
			}
			data := exportOf(entries)
			got, _ := exportVerdicts(t, data, ExportOptions{Workers: 1})
			whole := wholeLogVerdicts(t, data, nil)
			if w := whole[entries[0].DID]; w.valid != (sub == "valid") {
				t.Fatalf("%s: whole-log verdict %+v", f, w)
			}
			compareVerdicts(t, whole, got, nil)
		}
	}
}

// windowKeys are a generated DID's two rotation keys: rec (index 0, may
// nullify what main signed) and main (index 1).
type windowKeys struct{ rec, main atcrypto.PrivateKey }

// step is one operation of a scenario: the index of its prev (-1 for the
// genesis), who signs, when (after the scenario's start), and whether it
// is a tombstone.
type step struct {
	prev      int
	byRec     bool
	at        time.Duration
	tombstone bool
}

// buildLog signs a scenario's operations and returns its entries with the
// nullified flags the rules give (false where the log does not validate).
func buildLog(t *testing.T, name string, keys windowKeys, t0 time.Time, steps []step) []LogEntry {
	t.Helper()
	var ops []*Operation
	var entries []LogEntry
	var did syntax.DID
	for i, s := range steps {
		signer := keys.main
		if s.byRec {
			signer = keys.rec
		}
		var op *Operation
		if s.prev < 0 {
			g, d, err := NewGenesis(GenesisParams{RotationKeys: []string{dk(t, keys.rec), dk(t, keys.main)}, SigningKey: dk(t, keys.main),
				Handle: name + ".example.com", PDS: "https://pds.example.com"}, signer)
			if err != nil {
				t.Fatal(err)
			}
			op, did = g, d
		} else if s.tombstone {
			op = &Operation{Type: TypeTombstone, Prev: ops[s.prev].CID().String()}
		} else {
			op = ops[s.prev].Normalize()
			if op == nil { // on a tombstone: the genesis state again
				op = ops[0].Normalize()
			}
			op.Prev, op.Sig = ops[s.prev].CID().String(), ""
			op.AlsoKnownAs = []string{fmt.Sprintf("at://%s-%d.example.com", name, i)}
		}
		if s.prev >= 0 {
			if err := Sign(op, signer); err != nil {
				t.Fatal(err)
			}
		}
		ops = append(ops, op)
		entries = append(entries, LogEntry{DID: did.String(), Operation: op, CID: op.CID().String(), CreatedAt: t0.Add(s.at), HasMeta: true})
	}
	if st, err := validateLog(did, entries, make(keyCache, 4), false); err == nil {
		entries = st.LogEntries()
	}
	return entries
}

// windowScenarios are logs around the 72-hour recovery window, each a DID.
var windowScenarios = []struct {
	name  string
	steps []step
	lie   int  // >= 0: flip the stream's nullified flag of this entry
	valid bool // the whole-log verdict
	// outside: the export path may report the prev as out of reach
	// (ErrPrevNotFound) where the whole log names why (it was nullified,
	// or forking from it is a late recovery)
	outside bool
}{
	{name: "nullify-72h-minus-1s", steps: []step{{-1, false, 0, false}, {0, false, time.Hour, false}, {0, true, time.Hour + RecoveryWindow - time.Second, false}}, lie: -1, valid: true},
	{name: "nullify-at-72h", steps: []step{{-1, false, 0, false}, {0, false, time.Hour, false}, {0, true, time.Hour + RecoveryWindow, false}}, lie: -1, valid: true},
	{name: "nullify-72h-plus-1s", steps: []step{{-1, false, 0, false}, {0, false, time.Hour, false}, {0, true, time.Hour + RecoveryWindow + time.Second, false}}, lie: -1, outside: true},
	{name: "nullify-from-an-old-parent", steps: []step{{-1, false, 0, false}, {0, false, 100 * time.Hour, false}, {1, false, 150 * time.Hour, false}, {1, true, 221 * time.Hour, false}}, lie: -1, valid: true},
	{name: "nullify-two-then-update", steps: []step{{-1, false, 0, false}, {0, false, time.Hour, false}, {1, false, 2 * time.Hour, false}, {0, true, 50 * time.Hour, false}, {3, false, 200 * time.Hour, false}}, lie: -1, valid: true},
	{name: "stream-hides-a-nullification", steps: []step{{-1, false, 0, false}, {0, false, time.Hour, false}, {1, false, 2 * time.Hour, false}, {0, true, 50 * time.Hour, false}, {3, false, 200 * time.Hour, false}}, lie: 1},
	{name: "stream-claims-a-nullification", steps: []step{{-1, false, 0, false}, {0, false, time.Hour, false}, {0, true, 50 * time.Hour, false}, {2, false, 300 * time.Hour, false}}, lie: 3},
	{name: "late-fork-from-old-genesis", steps: []step{{-1, false, 0, false}, {0, false, 100 * time.Hour, false}, {1, false, 150 * time.Hour, false}, {0, true, 221 * time.Hour, false}}, lie: -1, outside: true},
	{name: "update-on-nullified", steps: []step{{-1, false, 0, false}, {0, false, time.Hour, false}, {0, true, 2 * time.Hour, false}, {1, false, 3 * time.Hour, false}}, lie: -1},
	{name: "update-on-long-nullified", steps: []step{{-1, false, 0, false}, {0, false, time.Hour, false}, {0, true, 2 * time.Hour, false}, {1, false, 200 * time.Hour, false}}, lie: -1, outside: true},
	{name: "duplicate-head", steps: []step{{-1, false, 0, false}, {0, false, time.Hour, false}, {0, false, 2 * time.Hour, false}}, lie: -1},
	{name: "after-tombstone", steps: []step{{-1, false, 0, false}, {0, false, time.Hour, true}, {1, false, 2 * time.Hour, false}}, lie: -1},
	{name: "lower-priority-fork", steps: []step{{-1, false, 0, false}, {0, true, time.Hour, false}, {0, false, 2 * time.Hour, false}}, lie: -1},
}

// windowExport is the scenarios plus filler DIDs with an operation every
// 30 hours over 3,000 hours, so the workers' sweeps run between the
// scenarios' operations.
func windowExport(t *testing.T) ([]byte, map[string]bool) {
	t.Helper()
	windowOnce.Do(func() { windowData, windowOutside = makeWindowExport(t) })
	if windowData == nil {
		t.Fatal("the window export could not be built")
	}
	return windowData, windowOutside
}

var (
	windowOnce    sync.Once
	windowData    []byte
	windowOutside map[string]bool
)

func makeWindowExport(t *testing.T) ([]byte, map[string]bool) {
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	var all []LogEntry
	outside := map[string]bool{}
	for _, sc := range windowScenarios {
		entries := buildLog(t, sc.name, windowKeys{mustKey(t, false), mustKey(t, false)}, t0, sc.steps)
		if sc.lie >= 0 {
			entries[sc.lie].Nullified = !entries[sc.lie].Nullified
		}
		_, err := ValidateLog("", entries)
		if (err == nil) != sc.valid {
			t.Fatalf("%s: whole log gives %v", sc.name, err)
		}
		outside[entries[0].DID] = sc.outside
		all = append(all, entries...)
	}
	keys := windowKeys{mustKey(t, false), mustKey(t, false)}
	for f := 0; f < 8; f++ {
		var steps []step
		for i := 0; i < 100; i++ {
			steps = append(steps, step{prev: i - 1, at: time.Duration(f)*7*time.Minute + time.Duration(i)*30*time.Hour})
		}
		all = append(all, buildLog(t, fmt.Sprintf("filler%d", f), keys, t0, steps)...)
	}
	return exportOf(all), outside
}

// The export path gives the whole-log verdict to every scenario, with 1 and
// 3 workers, and keeps a bounded state though the fillers' logs are 100
// operations long: with operations 30 hours apart a fork can still reach
// the head's parent, grandparent and great-grandparent (their children are
// less than 72 hours older than the head), so at most 4 per DID.
func TestExportPathWindowScenariosMatchWholeLogs(t *testing.T) {
	data, outside := windowExport(t)
	whole := wholeLogVerdicts(t, data, nil)
	for _, workers := range []int{1, 3} {
		got, res := exportVerdicts(t, data, ExportOptions{Workers: workers})
		compareVerdicts(t, whole, got, outside)
		if res.DIDs != len(windowScenarios)+8 {
			t.Errorf("%d DIDs", res.DIDs)
		}
		if res.Kept > 4*res.DIDs {
			t.Errorf("%d workers kept %d operations for %d DIDs", workers, res.Kept, res.DIDs)
		}
	}
	// The exact reason where the window scenarios are alone in the
	// stream: no sweep has dropped the operations a late fork names.
	for _, sc := range windowScenarios {
		entries := buildLog(t, sc.name, windowKeys{mustKey(t, false), mustKey(t, false)}, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), sc.steps)
		if sc.name != "nullify-72h-plus-1s" {
			continue
		}
		data := exportOf(entries)
		got, _ := exportVerdicts(t, data, ExportOptions{Workers: 1})
		if v := got[entries[0].DID]; v.index != 2 || v.reasons != ErrLateRecovery.Error() {
			t.Errorf("%s alone: %+v, want a late recovery at operation 2", sc.name, v)
		}
	}
}

// An entry older than the time the stream had reached, forking from an
// operation that a sweep dropped, is reported as a stream out of time
// order, not judged.
func TestExportPathRefusesALateForkOutOfTimeOrder(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	sc := buildLog(t, "late", windowKeys{mustKey(t, false), mustKey(t, false)}, t0,
		[]step{{-1, false, 0, false}, {0, false, time.Hour, false}, {0, true, 70 * time.Hour, false}})
	filler := buildLog(t, "clock", windowKeys{mustKey(t, false), mustKey(t, false)}, t0,
		[]step{{-1, false, 0, false}, {0, false, 200 * time.Hour, false}})
	data := append(exportOf(append(sc[:2:2], filler...)), exportOf(sc[2:])...)
	res, err := ValidateExport(bytes.NewReader(data), ExportOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Invalid) != 1 || !errors.Is(res.Invalid[0].Err, ErrMisordered) || !strings.Contains(res.Invalid[0].Err.Error(), "time order") {
		t.Fatalf("invalid %v", res.Invalid)
	}
}

// --shard: over n shards every DID is validated exactly once, in the shard
// DIDHash names, with its whole-log verdict.
func TestExportShardsCoverEveryDIDOnce(t *testing.T) {
	data, outside := windowExport(t)
	whole := wholeLogVerdicts(t, data, nil)
	all, full := exportVerdicts(t, data, ExportOptions{Workers: 2})
	for _, n := range []int{2, 3, 7} {
		dids, valid, lines := 0, 0, int64(0)
		seen := map[string]int{}
		for i := 0; i < n; i++ {
			got, res := exportVerdicts(t, data, ExportOptions{Workers: 2, Shard: i, Shards: n})
			dids, valid = dids+res.DIDs, valid+res.Valid
			lines += res.Lines - res.OtherShards
			for did := range got {
				seen[did]++
				if int(DIDHash(did)%uint32(n)) != i {
					t.Errorf("%s in shard %d/%d", did, i, n)
				}
			}
			mine := map[string]verdict{}
			for did, v := range whole {
				if int(DIDHash(did)%uint32(n)) == i {
					mine[did] = v
				}
			}
			compareVerdicts(t, mine, got, outside)
		}
		if dids != full.DIDs || valid != full.Valid || lines != full.Lines || len(seen) != len(all) {
			t.Errorf("%d shards: %d DIDs, %d valid, %d lines; whole run %d, %d, %d", n, dids, valid, lines, full.DIDs, full.Valid, full.Lines)
		}
		for did, k := range seen {
			if k != 1 {
				t.Errorf("%s validated %d times", did, k)
			}
		}
	}
	if _, err := ValidateExport(bytes.NewReader(data), ExportOptions{Shard: 3, Shards: 3}); err == nil {
		t.Error("shard 3 of 3 accepted")
	}
}

// Failures the go-didplc known-bad lists cover are set apart by the export
// path as by the whole-log rules: lines for listed DIDs, which do not
// validate, are known bad; the valid DIDs stay valid.
func TestExportPathSetsGoDidplcKnownBadApartLikeWholeLogs(t *testing.T) {
	var known KnownBad
	var lists [2][]string
	for i, name := range []string{"known_bad_dids.json", "known_bad_cids.json"} {
		b, err := os.ReadFile(testfixtures.Path(t, "corpus", "go-didplc", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := known.Add(bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &lists[i]); err != nil {
			t.Fatal(err)
		}
	}
	data, _ := genExport(t, 10, 3)
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	var extra [][]byte
	for i := 0; i < 20; i++ {
		e, err := ParseLogEntry(lines[i])
		if err != nil {
			t.Fatal(err)
		}
		e.DID = lists[0][i*37]
		extra = append(extra, e.AppendJSON(nil))
	}
	data = append(data, append(bytes.Join(extra, []byte("\n")), '\n')...)
	whole := wholeLogVerdicts(t, data, &known)
	got, res := exportVerdicts(t, data, ExportOptions{Workers: 2, KnownBad: &known})
	compareVerdicts(t, whole, got, nil)
	if len(res.KnownBad) == 0 || len(res.Invalid) != 0 {
		t.Errorf("known bad %d, invalid %d", len(res.KnownBad), len(res.Invalid))
	}
}
