package view

import (
	"github.com/ipfs/go-cid"
	"io"
	"net/http"

	"github.com/arbor-atproto/arbor/dagcbor"
)

func nodeCID(b []byte) cid.Cid { return dagcbor.SumCID(cid.DagCBOR, b) }

func someCID(s string) cid.Cid { return dagcbor.SumCID(cid.DagCBOR, []byte(s)) }

func readBody(w io.Writer, resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	return io.Copy(w, resp.Body)
}
