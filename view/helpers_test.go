package view

import (
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
)

func nodeCID(b []byte) cid.Cid { return dagcbor.SumCID(cid.DagCBOR, b) }

func someCID(s string) cid.Cid { return dagcbor.SumCID(cid.DagCBOR, []byte(s)) }
