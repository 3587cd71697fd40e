// Command gengolden writes golden/plc/go_logs.json: audit logs built by the
// plc package (genesis, every kind of update, both rollback modes, a
// tombstone, k256 and p256 keys) for the reference implementation to judge
// (golden/plc/gen/gen.js). Run from the repository root:
//
//	go run ./plc/internal/gengolden
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
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
	if (len(os.Args) == 4 || len(os.Args) == 5) && os.Args[1] == "-export" {
		// gengolden -export DIDS FILE.jsonl [EVERY]: a benchmark export
		// stream, DIDS identities x 5 operations, an identity's operations
		// EVERY seconds apart (default DIDS); golden/plc/gen/bench.js
		// reads it
		var n int
		fmt.Sscan(os.Args[2], &n)
		every := n
		if len(os.Args) == 5 {
			fmt.Sscan(os.Args[4], &every)
		}
		if every < n {
			fmt.Fprintln(os.Stderr, "gengolden: EVERY must be at least DIDS, to keep the stream in time order")
			os.Exit(2)
		}
		if err := writeExport(n, every, os.Args[3]); err != nil {
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

// writeExport writes dids identities x 5 operations in time order: the
// genesis of identity d at base+d seconds, its update i at base+d+i*every
// seconds (handle changes signed by its second rotation key), so round i
// of every identity comes before round i+1 and the stream is written
// round by round, keeping only each identity's last operation and key.
func writeExport(dids, every int, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	type ident struct {
		did  string
		main atcrypto.PrivateKey
		last *plc.Operation
	}
	ids := make([]ident, dids)
	const chunk = 4096
	workers := runtime.GOMAXPROCS(0)
	for round := 0; round < 5; round++ {
		for lo := 0; lo < dids; lo += chunk {
			hi := min(lo+chunk, dids)
			out := make([][]byte, hi-lo)
			errs := make([]error, workers)
			var wg sync.WaitGroup
			for g := 0; g < workers; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for d := lo + g; d < hi; d += workers {
						line, err := exportLine(&ids[d].did, &ids[d].main, &ids[d].last, d, round, every)
						if err != nil {
							errs[g] = err
							return
						}
						out[d-lo] = line
					}
				}(g)
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				return err
			}
			for _, l := range out {
				w.Write(l)
			}
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// exportLine signs identity d's operation of the given round (0: genesis)
// and returns it as an export line.
func exportLine(did *string, main *atcrypto.PrivateKey, last **plc.Operation, d, round, every int) ([]byte, error) {
	at := base.Add(time.Duration(d+round*every) * time.Second)
	var op *plc.Operation
	if round == 0 {
		m, err := atcrypto.GeneratePrivateKeyK256()
		if err != nil {
			return nil, err
		}
		rec, err := atcrypto.GeneratePrivateKeyK256()
		if err != nil {
			return nil, err
		}
		g, id, err := plc.NewGenesis(plc.GenesisParams{RotationKeys: []string{didKey(rec), didKey(m)}, SigningKey: didKey(m),
			Handle: fmt.Sprintf("u%d.example.com", d), PDS: "https://pds.example.com"}, m)
		if err != nil {
			return nil, err
		}
		op, *did, *main = g, id.String(), m
	} else {
		op = (*last).Normalize()
		op.Prev, op.Sig = (*last).CID().String(), ""
		op.AlsoKnownAs = []string{fmt.Sprintf("at://u%d-%d.example.com", d, round)}
		if err := plc.Sign(op, *main); err != nil {
			return nil, err
		}
	}
	*last = op
	e := plc.LogEntry{DID: *did, Operation: op, CID: op.CID().String(), CreatedAt: at, HasMeta: true}
	return append(e.AppendJSON(nil), '\n'), nil
}
