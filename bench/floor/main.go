// Command floor is the hashing floor for verifying a repository CAR: it
// reads the file once, in large chunks, finds every block's framing, and
// checks every block's sha2-256 against its CID on every core, with Go's
// SHA-256 (which uses the CPU's SHA instructions where there are some).
// Nothing a verifier does can take less than this; bench/verify.sh
// reports arbor verify and inspect against it.
//
// One goroutine reads chunks of chunkSize and frames the sections in them
// (a section cut by a chunk's end is carried over to the next chunk); a
// hasher per core hashes a chunk's blocks. Memory stays at a few chunks
// whatever the file's size.
//
//	go run ./bench/floor FILE.car
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
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

const chunkSize = 4 << 20

// block is one section's digest (from its CID) and data, inside a chunk.
type block struct {
	want []byte // the 32-byte sha2-256 digest the CID names
	data []byte
}

type chunk struct {
	buf    []byte
	blocks []block
}

func run(path string) (int, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	workers := runtime.GOMAXPROCS(0)
	work := make(chan *chunk, 2*workers)
	free := make(chan *chunk, 4*workers)
	for range 4 * workers {
		free <- &chunk{buf: make([]byte, chunkSize)}
	}
	bad := make([]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				for _, b := range c.blocks {
					if d := sha256.Sum256(b.data); !bytes.Equal(d[:], b.want) {
						bad[w]++
					}
				}
				free <- c
			}
		}()
	}
	n, err := frame(f, work, free)
	close(work)
	wg.Wait()
	total := 0
	for _, b := range bad {
		total += b
	}
	return n, total, err
}

// frame reads r chunk by chunk, splits each into its sections (a varint
// length, then a CIDv1: version, codec, hash code and digest length
// varints and a 32-byte sha2-256 digest, then the block's data) and hands
// the chunk to the hashers; it returns the number of blocks.
func frame(r io.Reader, work chan<- *chunk, free <-chan *chunk) (int, error) {
	n, off := 0, int64(0)
	header := true
	var carry []byte
	for eof := false; !eof; {
		c := <-free
		k := copy(c.buf, carry)
		m, err := io.ReadFull(r, c.buf[k:])
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			eof = true
		case err != nil:
			return n, err
		}
		data := c.buf[:k+m]
		c.blocks = c.blocks[:0]
		p := 0
		for {
			l, w := binary.Uvarint(data[p:])
			if w > 0 && uint64(w)+l > chunkSize {
				return n, fmt.Errorf("section at byte %d is larger than %d bytes", off, chunkSize)
			}
			if w <= 0 || uint64(len(data)-p-w) < l {
				break // the rest comes with the next chunk
			}
			sec := data[p+w : p+w+int(l)]
			p += w + int(l)
			off += int64(w) + int64(l)
			if header {
				header = false
				continue
			}
			q := 0
			for range 4 { // version, codec, hash code, digest length
				_, v := binary.Uvarint(sec[q:])
				if v <= 0 {
					return n, fmt.Errorf("bad CID at byte %d", off)
				}
				q += v
			}
			if q+32 > len(sec) {
				return n, fmt.Errorf("short CID at byte %d", off)
			}
			c.blocks = append(c.blocks, block{want: sec[q : q+32], data: sec[q+32:]})
			n++
		}
		carry = append(carry[:0], data[p:]...)
		work <- c
	}
	if len(carry) > 0 || header {
		return n, errors.New("file ends inside a section")
	}
	return n, nil
}
