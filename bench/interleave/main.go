// Command interleave rewrites a repository CAR in the block order a PDS
// export has (com.atproto.sync.getRepo): the commit, then the tree walked
// depth first with each record right after the entry that names it, so
// nodes and records are interleaved (arbor create writes every node, then
// every record). The blocks and the root are the same; blocks the tree
// does not reach are left out.
//
//	go run ./bench/interleave IN.car > OUT.car
package main

import (
	"bufio"
	"fmt"
	"os"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: interleave IN.car > OUT.car")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "interleave:", err)
		os.Exit(1)
	}
}

func run(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	roots, blocks, err := car.ReadAll(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return err
	}
	commit, err := repo.DecodeCommit(blocks[roots[0]])
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	w, err := car.NewWriter(out, roots[:1])
	if err != nil {
		return err
	}
	put := func(c cid.Cid) error {
		b, ok := blocks[c]
		if !ok {
			return fmt.Errorf("block %s is missing", c)
		}
		return w.Put(c, b)
	}
	var walk func(c cid.Cid) error
	walk = func(c cid.Cid) error {
		if !c.Defined() {
			return nil
		}
		if err := put(c); err != nil {
			return err
		}
		n, err := mst.DecodeNode(blocks[c])
		if err != nil {
			return err
		}
		if err := walk(n.Left); err != nil {
			return err
		}
		for _, e := range n.Entries {
			if err := put(e.Value); err != nil {
				return err
			}
			if err := walk(e.Right); err != nil {
				return err
			}
		}
		return nil
	}
	if err := put(roots[0]); err != nil {
		return err
	}
	if err := walk(commit.Data); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return out.Flush()
}
