package car

import (
	"errors"
	"fmt"
	"io"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/ipfs/go-cid"
)

// readHeader reads the length-prefixed header at the start of the input and
// returns its roots.
func (r *Reader) readHeader() error {
	n, err := r.readVarint()
	if err != nil {
		if err == errEOF {
			return &HeaderError{Offset: 0, Err: dagcbor.ErrTruncated, Detail: "empty input"}
		}
		return &HeaderError{Offset: 0, Err: err, Detail: "header length prefix"}
	}
	if n == 0 {
		return &HeaderError{Offset: 0, Err: ErrBadHeader, Detail: "header length is zero"}
	}
	if n > MaxHeaderSize {
		return &HeaderError{Offset: 0, Err: ErrBadHeader,
			Detail: fmt.Sprintf("declared header length %d exceeds the %d-byte limit", n, MaxHeaderSize)}
	}
	base := r.off
	buf := make([]byte, n)
	got, err := readFull(r.br, buf)
	r.off += int64(got)
	if err != nil && err != io.ErrUnexpectedEOF {
		return &HeaderError{Offset: r.off, Err: err, Detail: "reading the header"}
	}
	if err != nil {
		return &HeaderError{Offset: r.off, Err: dagcbor.ErrTruncated,
			Detail: fmt.Sprintf("header declares %d bytes, input has %d", n, got)}
	}
	roots, err := decodeHeader(buf)
	if err != nil {
		var he *HeaderError
		if errors.As(err, &he) {
			he.Offset += base
		}
		return err
	}
	r.roots = roots
	return nil
}

// decodeHeader strictly decodes the DAG-CBOR map {roots: [links], version: 1}.
// Offsets in the returned *HeaderError are relative to b.
func decodeHeader(b []byte) ([]cid.Cid, error) {
	d := dagcbor.NewReader(b)
	fail := func(err error) error {
		var se *dagcbor.SyntaxError
		off := int64(d.Offset())
		if errors.As(err, &se) {
			off = int64(se.Offset)
		}
		return &HeaderError{Offset: off, Err: ErrBadHeader, Cause: err}
	}
	bad := func(off int, detail string) error {
		return &HeaderError{Offset: int64(off), Err: ErrBadHeader, Detail: detail}
	}
	if m, err := d.PeekMajor(); err != nil {
		return nil, fail(err)
	} else if m != dagcbor.MajorMap {
		return nil, bad(0, "not a map")
	}
	n, err := d.ReadMapHeader()
	if err != nil {
		return nil, fail(err)
	}
	var (
		roots              []cid.Cid
		haveRoots, haveVer bool
		prev               []byte
	)
	for i := 0; i < n; i++ {
		keyOff := d.Offset()
		k, err := d.ReadMapKey(prev)
		if err != nil {
			return nil, fail(err)
		}
		prev = k
		switch string(k) {
		case "roots":
			arrOff := d.Offset()
			if m, err := d.PeekMajor(); err != nil {
				return nil, fail(err)
			} else if m != dagcbor.MajorArray {
				return nil, bad(arrOff, "roots is not an array")
			}
			cnt, err := d.ReadArrayHeader()
			if err != nil {
				return nil, fail(err)
			}
			// Each link takes at least 3 bytes; do not trust cnt for allocation.
			roots = make([]cid.Cid, 0, min(cnt, len(b)/3))
			for j := 0; j < cnt; j++ {
				c, err := d.ReadLink()
				if err != nil {
					return nil, fail(err)
				}
				roots = append(roots, c)
			}
			haveRoots = true
		case "version":
			verOff := d.Offset()
			v, err := d.ReadUint()
			if err != nil {
				return nil, fail(err)
			}
			if v != 1 {
				if v == 2 {
					return nil, bad(verOff, "version 2 (CARv2 is not supported; only CARv1)")
				}
				return nil, bad(verOff, fmt.Sprintf("version %d, want 1", v))
			}
			haveVer = true
		default:
			return nil, bad(keyOff, fmt.Sprintf("unexpected key %q", k))
		}
	}
	if err := d.Done(); err != nil {
		return nil, fail(err)
	}
	if !haveVer {
		return nil, bad(0, "missing version")
	}
	if !haveRoots {
		return nil, bad(0, "missing roots")
	}
	return roots, nil
}

// encodeHeader returns the canonical DAG-CBOR header {roots, version: 1}.
func encodeHeader(roots []cid.Cid) []byte {
	w := dagcbor.NewWriter(make([]byte, 0, 16+len(roots)*41))
	w.WriteMapHeader(2)
	w.WriteString("roots")
	w.WriteArrayHeader(len(roots))
	for _, c := range roots {
		w.WriteLink(c)
	}
	w.WriteString("version")
	w.WriteUint(1)
	return w.Bytes()
}
