package dagcbor

// Decode parses b as exactly one DAG-CBOR value under every rule Validate
// enforces and returns it as a data-model value:
//
//	null         → nil
//	true, false  → bool
//	integer      → int64
//	text string  → string
//	byte string  → []byte (a copy; it does not alias b)
//	tag 42       → cid.Cid (CIDv1 only)
//	array        → []any
//	map          → map[string]any
//
// Errors are *SyntaxError values wrapping one of the sentinel errors and
// carrying the byte offset of the offending item.
func Decode(b []byte) (any, error) {
	r := Reader{buf: b}
	v, err := r.decodeValue(0)
	if err != nil {
		return nil, err
	}
	if err := r.Done(); err != nil {
		return nil, err
	}
	return v, nil
}

// decodeValue mirrors skip: the same checks in the same order, so that
// Decode and Validate reject the same inputs at the same offsets.
func (r *Reader) decodeValue(depth int) (any, error) {
	if depth > MaxDepth {
		return nil, errAt(r.off, ErrTooDeep, "")
	}
	major, err := r.PeekMajor()
	if err != nil {
		return nil, err
	}
	switch major {
	case MajorUint, MajorNegInt:
		return r.ReadInt()
	case MajorBytes:
		p, err := r.ReadBytes()
		if err != nil {
			return nil, err
		}
		out := make([]byte, len(p))
		copy(out, p)
		return out, nil
	case MajorText:
		return r.ReadString()
	case MajorArray:
		n, err := r.ReadArrayHeader()
		if err != nil {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = r.decodeValue(depth + 1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case MajorMap:
		n, err := r.ReadMapHeader()
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, n)
		var prev []byte
		for i := 0; i < n; i++ {
			k, err := r.ReadMapKey(prev)
			if err != nil {
				return nil, err
			}
			prev = k
			v, err := r.decodeValue(depth + 1)
			if err != nil {
				return nil, err
			}
			out[string(k)] = v
		}
		return out, nil
	case MajorTag:
		return r.ReadLink()
	default: // MajorSimple
		switch r.buf[r.off] {
		case 0xf4, 0xf5:
			return r.ReadBool()
		case 0xf6:
			r.off++
			return nil, nil
		}
		return nil, r.badSimple()
	}
}
