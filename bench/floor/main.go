// Command floor is the hashing floor for verifying a repository CAR: it
// reads the file once (mapped into memory), finds every block's framing,
// and checks every block's sha2-256 against its CID on every core, with
// Go's SHA-256 (which uses the CPU's SHA instructions where there are
// some). Nothing a verifier does can take less than this; bench/verify.sh
// reports arbor verify and inspect against it.
//
//	go run ./bench/floor FILE.car
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: floor FILE.car")
		os.Exit(2)
	}
	n, bad, err := run(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(2)
	}
	fmt.Printf("%d blocks hashed on %d cores, %d not matching their CID\n", n, runtime.GOMAXPROCS(0), bad)
	if bad > 0 {
		os.Exit(1)
	}
}

// block is one section's digest (from its CID) and data.
type block struct {
	want []byte // the 32-byte sha2-256 digest the CID names
	data []byte
}

func run(path string) (int, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return 0, 0, err
	}
	defer syscall.Munmap(data)
	blocks, err := frame(data)
	if err != nil {
		return 0, 0, err
	}
	workers := runtime.GOMAXPROCS(0)
	bad := make([]int, workers)
	var wg sync.WaitGroup
	per := (len(blocks) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo, hi := min(w*per, len(blocks)), min((w+1)*per, len(blocks))
		wg.Add(1)
		go func(w int, part []block) {
			defer wg.Done()
			for _, b := range part {
				if d := sha256.Sum256(b.data); !bytes.Equal(d[:], b.want) {
					bad[w]++
				}
			}
		}(w, blocks[lo:hi])
	}
	wg.Wait()
	total := 0
	for _, n := range bad {
		total += n
	}
	return len(blocks), total, nil
}

// frame splits a CAR v1 file into its sections: a varint length, then a
// CIDv1 (version, codec and multihash header varints, 32-byte sha2-256
// digest) and the block's data.
func frame(data []byte) ([]block, error) {
	hl, n := binary.Uvarint(data)
	if n <= 0 || uint64(len(data)-n) < hl {
		return nil, errors.New("bad CAR header")
	}
	off := n + int(hl)
	var out []block
	for off < len(data) {
		l, n := binary.Uvarint(data[off:])
		if n <= 0 || uint64(len(data)-off-n) < l {
			return nil, fmt.Errorf("bad section at byte %d", off)
		}
		sec := data[off+n : off+n+int(l)]
		off += n + int(l)
		p := 0
		for i := 0; i < 4; i++ { // version, codec, hash code, digest length
			_, m := binary.Uvarint(sec[p:])
			if m <= 0 {
				return nil, fmt.Errorf("bad CID at byte %d", off)
			}
			p += m
		}
		if p+32 > len(sec) {
			return nil, fmt.Errorf("short CID at byte %d", off)
		}
		out = append(out, block{want: sec[p : p+32], data: sec[p+32:]})
	}
	return out, nil
}
