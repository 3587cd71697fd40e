package dagcbor

// Walking bytes that Validate has already accepted: no rule needs checking
// again, so these read heads and skip items without the Reader's checks
// (minimal lengths, key order, UTF-8), for hot paths that look at a few
// members of every block (repo's record check). On bytes Validate would
// refuse they report ok false or a wrong answer, never panic.

// ValidatedHead reads the head at off of bytes Validate accepted: the major
// type, the argument (a length, count or integer), and where what follows
// the head starts. ok is false past the end or for a head Validate never
// lets through (indefinite lengths, reserved additional information).
func ValidatedHead(b []byte, off int) (major int, arg uint64, next int, ok bool) {
	if off < 0 || off >= len(b) {
		return 0, 0, 0, false
	}
	major, info := int(b[off]>>5), b[off]&0x1f
	off++
	switch {
	case info < 24:
		return major, uint64(info), off, true
	case info <= 27:
		n := 1 << (info - 24)
		if off+n > len(b) {
			return 0, 0, 0, false
		}
		for _, c := range b[off : off+n] {
			arg = arg<<8 | uint64(c)
		}
		return major, arg, off + n, true
	}
	return 0, 0, 0, false
}

// ValidatedSkip returns where the item at off of bytes Validate accepted
// ends: integers, simple values, byte and text strings by their head, maps,
// arrays and tags through a Reader.
func ValidatedSkip(b []byte, off int) (end int, ok bool) {
	major, arg, next, ok := ValidatedHead(b, off)
	if !ok {
		return 0, false
	}
	switch major {
	case MajorUint, MajorNegInt, MajorSimple:
		return next, true
	case MajorBytes, MajorText:
		if arg > uint64(len(b)-next) {
			return 0, false
		}
		return next + int(arg), true
	}
	r := NewReader(b[off:])
	if r.Skip() != nil {
		return 0, false
	}
	return off + r.Offset(), true
}
