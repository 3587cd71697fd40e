// Command diffmut turns the JSON lines of bench/genrecords into a second
// snapshot that differs from the first by a known number of operations, a
// third each creates, updates and deletes, spread evenly over the records.
// bench/diff.sh feeds both sets to `arbor create` and times `arbor diff`.
//
//	go run ./bench/diffmut -ops 3000 < records.jsonl > mutated.jsonl
//
// The output is deterministic. A delete drops a line; an update keeps the
// path and changes the record (a post's text, otherwise its createdAt); a
// create adds a record at a new TID (the same timestamp with another clock
// id, so it sorts next to the record it was made from).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
)

const b32 = "234567abcdefghijklmnopqrstuvwxyz"

type line struct {
	Collection string         `json:"collection"`
	Rkey       string         `json:"rkey"`
	Record     map[string]any `json:"record"`
}

func main() {
	ops := flag.Int("ops", 3000, "number of operations (a third each creates, updates, deletes)")
	flag.Parse()
	if err := run(*ops); err != nil {
		fmt.Fprintln(os.Stderr, "diffmut:", err)
		os.Exit(1)
	}
}

func run(ops int) error {
	var lines []line
	sc := bufio.NewScanner(bufio.NewReaderSize(os.Stdin, 1<<20))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("line %d: %w", len(lines)+1, err)
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	n := len(lines)
	if ops > n {
		return fmt.Errorf("%d operations asked on %d records", ops, n)
	}
	kind := make(map[int]int, ops) // record index -> 0 delete, 1 update, 2 create
	for j := range ops {
		kind[j*n/ops+n/(2*ops)] = j % 3
	}
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	var counts [3]int
	for i, l := range lines {
		k, touched := kind[i]
		if !touched {
			if err := enc.Encode(l); err != nil {
				return err
			}
			continue
		}
		counts[k]++
		switch k {
		case 0: // delete
		case 1: // update
			if t, ok := l.Record["text"].(string); ok {
				l.Record["text"] = t + "(edited)"
			} else {
				l.Record["createdAt"] = "2025-01-01T00:00:00.000Z"
			}
			if err := enc.Encode(l); err != nil {
				return err
			}
		case 2: // create next to the original, which stays
			if err := enc.Encode(l); err != nil {
				return err
			}
			rk := []byte(l.Rkey)
			last := rk[len(rk)-1]
			for i := range b32 {
				if b32[i] == last {
					rk[len(rk)-1] = b32[(i+1)%len(b32)]
					break
				}
			}
			rec := make(map[string]any, len(l.Record))
			for k, v := range l.Record {
				rec[k] = v
			}
			rec["createdAt"] = "2025-01-02T00:00:00.000Z"
			if err := enc.Encode(line{l.Collection, string(rk), rec}); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(os.Stderr, "diffmut: %d records in, %d deletes, %d updates, %d creates\n", n, counts[0], counts[1], counts[2])
	return w.Flush()
}
