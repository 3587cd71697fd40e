// Command gengolden writes golden/plc/go_logs.json: audit logs built by the
// plc package (genesis, every kind of update, both rollback modes, a
// tombstone, k256 and p256 keys) for the reference implementation to judge
// (golden/plc/gen/gen.js). Run from the repository root:
//
//	go run ./plc/internal/gengolden
package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/arbor-atproto/arbor/plc"
	"github.com/bluesky-social/indigo/atproto/atcrypto"
)

type goCase struct {
	Name string          `json:"name"`
	DID  string          `json:"did"`
	Log  json.RawMessage `json:"log"`
}

func main() {
	out := filepath.Join("golden", "plc", "go_logs.json")
	if len(os.Args) == 4 && os.Args[1] == "-export" {
		// gengolden -export DIDS FILE.jsonl: a benchmark export stream,
		// DIDS identities x 5 operations (golden/plc/gen/bench.js reads it)
		var n int
		fmt.Sscan(os.Args[2], &n)
		if err := writeExport(n, os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, "gengolden:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	cases, err := build()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gengolden:", err)
		os.Exit(1)
	}
	b, _ := json.MarshalIndent(cases, "", "  ")
	if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gengolden:", err)
		os.Exit(1)
	}
}

func k256(seed byte) atcrypto.PrivateKey {
	b, _ := hex.DecodeString(fmt.Sprintf("%064x", int(seed)+1000))
	k, err := atcrypto.ParsePrivateBytesK256(b)
	if err != nil {
		panic(err)
	}
	return k
}

func p256(seed byte) atcrypto.PrivateKey {
	b, _ := hex.DecodeString(fmt.Sprintf("%064x", int(seed)+2000))
	k, err := atcrypto.ParsePrivateBytesP256(b)
	if err != nil {
		panic(err)
	}
	return k
}

func didKey(k atcrypto.PrivateKey) string {
	p, err := k.PublicKey()
	if err != nil {
		panic(err)
	}
	return p.DIDKey()
}

var base = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

type chain struct {
	st  *plc.State
	now time.Time
}

func genesis(p plc.GenesisParams, signer atcrypto.PrivateKey) (*chain, error) {
	op, did, err := plc.NewGenesis(p, signer)
	if err != nil {
		return nil, err
	}
	st, err := plc.ValidateLog(did, []plc.LogEntry{{DID: did.String(), Operation: op, CID: op.CID().String(), CreatedAt: base, HasMeta: true}})
	if err != nil {
		return nil, err
	}
	return &chain{st: st, now: base}, nil
}

func (c *chain) update(u plc.Update, signer atcrypto.PrivateKey, after time.Duration) error {
	c.now = c.now.Add(after)
	op, err := plc.NextOperation(c.st, u, signer, c.now)
	if err != nil {
		return err
	}
	c.st, err = c.st.Append(op, c.now)
	return err
}

func (c *chain) plan(p *plc.RollbackPlan, err error) error {
	if err != nil {
		return err
	}
	c.st = p.After
	return nil
}

func (c *chain) result(name string) goCase {
	return goCase{Name: name, DID: c.st.DID.String(), Log: plc.MarshalLog(c.st.LogEntries())}
}

func build() ([]goCase, error) {
	var out []goCase
	rec, main, sign2, extra := k256(1), k256(2), k256(3), p256(4)
	pRec, pMain := p256(5), p256(6)

	// 1. k256 identity through every kind of update.
	c, err := genesis(plc.GenesisParams{RotationKeys: []string{didKey(rec), didKey(main)}, SigningKey: didKey(main), Handle: "alice.example.com", PDS: "https://pds.example.com"}, main)
	if err != nil {
		return nil, err
	}
	steps := []plc.Update{
		{Handle: "alice2.example.com"},
		{PDS: "pds2.example.com"},
		{SigningKey: didKey(sign2)},
		{AddRotationKeys: []string{didKey(extra)}},
		{RemoveRotationKeys: []string{didKey(extra)}},
	}
	for _, u := range steps {
		if err := c.update(u, main, time.Hour); err != nil {
			return nil, fmt.Errorf("update %+v: %w", u, err)
		}
	}
	out = append(out, c.result("go_k256_updates"))

	// 2. p256 keys, then a tombstone.
	c, err = genesis(plc.GenesisParams{RotationKeys: []string{didKey(pRec), didKey(pMain)}, SigningKey: didKey(pMain), Handle: "bob.example.com", PDS: "https://pds.example.com"}, pMain)
	if err != nil {
		return nil, err
	}
	if err := c.update(plc.Update{Handle: "bob2.example.com"}, pMain, time.Minute); err != nil {
		return nil, err
	}
	out = append(out, c.result("go_p256_update"))
	if err := c.update(plc.Update{Tombstone: true}, pRec, time.Minute); err != nil {
		return nil, err
	}
	out = append(out, c.result("go_p256_tombstone"))

	// 3. Nullify rollback within the window, with the higher-priority key.
	c, err = genesis(plc.GenesisParams{RotationKeys: []string{didKey(rec), didKey(main)}, SigningKey: didKey(main), Handle: "carol.example.com", PDS: "https://pds.example.com"}, main)
	if err != nil {
		return nil, err
	}
	if err := c.update(plc.Update{Handle: "hijacked.example.com"}, main, time.Hour); err != nil {
		return nil, err
	}
	if err := c.update(plc.Update{RemoveRotationKeys: []string{didKey(rec)}}, main, time.Hour); err != nil {
		return nil, err
	}
	c.now = c.now.Add(70 * time.Hour)
	if err := c.plan(plc.PlanNullify(c.st, 0, rec, c.now)); err != nil {
		return nil, fmt.Errorf("nullify: %w", err)
	}
	out = append(out, c.result("go_nullify_rollback"))

	// 4. Restore rollback long after the window.
	c, err = genesis(plc.GenesisParams{RotationKeys: []string{didKey(rec), didKey(main)}, SigningKey: didKey(main), Handle: "dave.example.com", PDS: "https://pds.example.com"}, main)
	if err != nil {
		return nil, err
	}
	if err := c.update(plc.Update{Handle: "dave-new.example.com", PDS: "https://other.example.com"}, main, time.Hour); err != nil {
		return nil, err
	}
	c.now = c.now.Add(30 * 24 * time.Hour)
	if err := c.plan(plc.PlanRestore(c.st, 0, main, c.now)); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	out = append(out, c.result("go_restore_rollback"))
	return out, nil
}

func writeExport(dids int, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	type line struct {
		at  time.Time
		raw []byte
	}
	var lines []line
	for d := 0; d < dids; d++ {
		main, err := atcrypto.GeneratePrivateKeyK256()
		if err != nil {
			return err
		}
		rec, err := atcrypto.GeneratePrivateKeyK256()
		if err != nil {
			return err
		}
		c, err := genesis(plc.GenesisParams{RotationKeys: []string{didKey(rec), didKey(main)}, SigningKey: didKey(main), Handle: fmt.Sprintf("u%d.example.com", d), PDS: "https://pds.example.com"}, main)
		if err != nil {
			return err
		}
		c.now = base.Add(time.Duration(d) * time.Second)
		for i := 1; i < 5; i++ {
			if err := c.update(plc.Update{Handle: fmt.Sprintf("u%d-%d.example.com", d, i)}, main, time.Duration(dids)*time.Second); err != nil {
				return err
			}
		}
		for i, e := range c.st.LogEntries() {
			if i == 0 {
				e.CreatedAt = base.Add(time.Duration(d) * time.Second)
			}
			lines = append(lines, line{e.CreatedAt, e.AppendJSON(nil)})
		}
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].at.Before(lines[j].at) })
	for _, l := range lines {
		if _, err := f.Write(append(l.raw, '\n')); err != nil {
			return err
		}
	}
	return nil
}
