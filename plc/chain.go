package plc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/mr-tron/base58"

	"github.com/arbor-atproto/arbor/dagcbor"
)

// node is what the validation rules need to remember about one operation
// once it is in a log: enough to check a later operation that names it as
// prev, forks from it, or nullifies it. It holds no operation.
type node struct {
	digest      [32]byte // sha2-256 of the signed operation (its CID's digest)
	sec         int64    // createdAt, Unix seconds and nanoseconds; zero when untimed
	nsec        int32
	index       int32  // position in the DID's log
	lastChild   int32  // index of the active child, -1 if none
	nullifiedBy int32  // index of the operation that nullified it, -1 if none
	keys        string // effective rotation keys, each a uvarint length and the did:key
	keyIndex    int8   // position of the key that signed it among those it was checked against
	allowedN    int8   // rotation keys [:allowedN] may still sign a child
	tombstone   bool
	nullified   bool
	claimed     bool // the nullified flag the log carries
}

func (n *node) createdAt() time.Time {
	if n.sec == 0 && n.nsec == 0 {
		return time.Time{}
	}
	return time.Unix(n.sec, int64(n.nsec)).UTC()
}

func (n *node) cid() string {
	return dagcbor.CIDFromDigest(dagcbor.CodecDagCBOR, n.digest).String()
}

// packKeys packs keys into one string: each key a tag byte, a uvarint
// length and its bytes, a did:key as its decoded multibase bytes (tag 1,
// 35 bytes for a k256 or p256 key instead of 57 characters) when it
// encodes back to the same text, anything else as it is (tag 0). like is
// returned instead of a new string when it holds the same keys (a log's
// operations mostly keep their rotation keys, and a compact chain then
// holds them once).
func packKeys(keys []string, like string) string {
	var buf [6 * 64]byte
	b := buf[:0]
	for _, k := range keys {
		if raw, ok := didKeyBytes(k); ok {
			b = append(b, 1)
			b = binary.AppendUvarint(b, uint64(len(raw)))
			b = append(b, raw...)
			continue
		}
		b = append(b, 0)
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
	}
	if string(b) == like {
		return like
	}
	return string(b)
}

const didKeyPrefix = "did:key:z"

func didKeyBytes(k string) ([]byte, bool) {
	if !strings.HasPrefix(k, didKeyPrefix) {
		return nil, false
	}
	raw, err := base58.Decode(k[len(didKeyPrefix):])
	if err != nil || len(raw) == 0 || base58.Encode(raw) != k[len(didKeyPrefix):] {
		return nil, false
	}
	return raw, true
}

// keyList unpacks packKeys.
func (n *node) keyList() []string {
	var out []string
	s := n.keys
	for len(s) > 0 {
		tag := s[0]
		l, w := binary.Uvarint([]byte(s[1:min(len(s), 1+binary.MaxVarintLen64)]))
		s = s[1+w:]
		k := s[:l]
		if tag == 1 {
			k = didKeyPrefix + base58.Encode([]byte(k))
		}
		out = append(out, k)
		s = s[l:]
	}
	return out
}

// chain applies the validation rules (see the package documentation) to
// one DID's log, one entry at a time. It keeps either every node (full,
// for ValidateLog and the states built on it) or only the nodes a later
// entry can still reach (compact, for export streams: the head, the
// operations still inside the recovery window and the parents they could
// be forked from), dropping the others after each entry. In a compact
// chain a dropped node's nullified flag is final, and is checked against
// the log's when it is dropped.
//
// The fields are ordered so that a compact chain, of which an export keeps
// one per DID, takes 48 bytes.
type chain struct {
	nodes []node             // in log order; the last is the head
	byCID map[[32]byte]int32 // full chains: node index by digest
	// mismatch is the first entry (lowest index) of a compact chain whose
	// final nullified flag differs from the log's, nil if none.
	mismatch *OpError
	n        int32 // entries applied
	timed    bool
	full     bool
	// dropped is set once a compact chain has dropped a node.
	dropped bool
	// failed is set once an export's chain has failed; the failure is
	// kept by the export (see exportState).
	failed bool
}

// applied is what apply learned about the entry it added.
type applied struct {
	cid      string
	signedBy string
	keyIndex int
	first    int // the first operation this one nullified, -1 if none
}

func newChain(full, timed bool, capacity int) chain {
	c := chain{full: full, timed: timed}
	if full {
		c.nodes = make([]node, 0, capacity)
		c.byCID = make(map[[32]byte]int32, capacity)
	}
	return c
}

// at returns the node with the given log index; the rules only ask for
// nodes a compact chain keeps.
func (c *chain) at(index int32) *node {
	if c.full {
		return &c.nodes[index]
	}
	for i := len(c.nodes) - 1; i >= 0; i-- {
		if c.nodes[i].index == index {
			return &c.nodes[i]
		}
	}
	return nil
}

func (c *chain) find(d [32]byte) *node {
	if c.full {
		if i, ok := c.byCID[d]; ok {
			return &c.nodes[i]
		}
		return nil
	}
	for i := len(c.nodes) - 1; i >= 0; i-- {
		if c.nodes[i].digest == d {
			return &c.nodes[i]
		}
	}
	return nil
}

// findCID looks up a CID written as a string; only the canonical form of
// a dag-cbor sha2-256 CIDv1 names an operation.
func (c *chain) findCID(s string) *node {
	id, err := cid.Decode(s)
	if err != nil || id.Version() != 1 || id.Type() != dagcbor.CodecDagCBOR || id.String() != s {
		return nil
	}
	h := id.Hash()
	if len(h) != 34 || h[0] != dagcbor.HashSHA256 || h[1] != 32 {
		return nil
	}
	var d [32]byte
	copy(d[:], h[2:])
	return c.find(d)
}

func (c *chain) head() *node { return &c.nodes[len(c.nodes)-1] }

// apply validates e, the next entry of the log of did, and adds it.
func (c *chain) apply(did string, e *LogEntry, cache keyCache) (applied, error) {
	op := e.Operation
	if op == nil {
		return applied{}, malformed("log entry has no operation")
	}
	if e.HasMeta != c.timed {
		return applied{}, malformed("log mixes audit entries and bare operations")
	}
	signed := op.SignedCBOR()
	id := dagcbor.SumCID(dagcbor.CodecDagCBOR, signed)
	a := applied{cid: id.String(), first: -1}
	if e.HasMeta {
		if e.DID != did {
			return a, wrapf(ErrLogDIDMismatch, "entry is for %s, log is for %s", e.DID, did)
		}
		if e.CID != a.cid {
			return a, wrapf(ErrCIDMismatch, "entry says %s, operation hashes to %s", e.CID, a.cid)
		}
	}
	nd := node{index: c.n, lastChild: -1, nullifiedBy: -1, tombstone: op.IsTombstone(), claimed: e.Nullified}
	copy(nd.digest[:], id.Hash()[2:])
	if !e.CreatedAt.IsZero() {
		nd.sec, nd.nsec = e.CreatedAt.Unix(), int32(e.CreatedAt.Nanosecond())
	}
	if c.find(nd.digest) != nil {
		return a, wrapf(ErrMisordered, "operation %s appears twice", a.cid)
	}
	if !op.Signed() {
		return a, ErrNotSigned
	}
	if err := checkRotationKeyCount(op); err != nil {
		return a, err
	}
	own := op.EffectiveRotationKeys()
	like := ""
	if c.n > 0 {
		like = c.head().keys
	}
	nd.keys, nd.allowedN = packKeys(own, like), int8(len(own))
	if c.n == 0 {
		if !op.IsGenesis() {
			return a, wrapf(ErrMisordered, "the log must start with a genesis operation (prev null), not a %s with prev %s", op.Type, op.Prev)
		}
		if got := didFromSignedCBOR(signed); got.String() != did {
			return a, wrapf(ErrGenesisHash, "genesis operation hashes to %s, not %s", got, did)
		}
		idx, err := verifyAny(op, own, cache)
		if err != nil {
			return a, fmt.Errorf("genesis signature: %w", err)
		}
		a.signedBy, a.keyIndex, nd.keyIndex = own[idx], idx, int8(idx)
		c.push(nd)
		return a, nil
	}
	if op.IsGenesis() {
		return a, wrapf(ErrMisordered, "a second genesis operation (prev null)")
	}
	p := c.findCID(op.Prev)
	switch {
	case p == nil && c.dropped:
		return a, wrapf(ErrPrevNotFound, "prev %s is neither the head nor an operation a fork could still reach (nullified, or older than the %s recovery window of its child, or not in the log)", op.Prev, RecoveryWindow)
	case p == nil:
		return a, wrapf(ErrPrevNotFound, "prev %s", op.Prev)
	case p.nullified:
		return a, wrapf(ErrPrevNullified, "prev %s (operation %d) was nullified by operation %d", op.Prev, p.index, p.nullifiedBy)
	case p.tombstone:
		return a, wrapf(ErrAfterTombstone, "prev %s (operation %d) is a tombstone", op.Prev, p.index)
	}
	keys := p.keyList()
	allowed := keys[:p.allowedN]
	fork := p.lastChild >= 0
	idx, err := verifyAny(op, allowed, cache)
	if err != nil {
		if fork && errors.Is(err, ErrBadOpSignature) {
			if j, err2 := verifyAny(op, keys[p.allowedN:], cache); err2 == nil {
				return a, wrapf(ErrKeyPriority, "signed by rotation key %d (%s) of operation %d, but operation %d, which it would nullify, was signed by key %d; only keys before it may nullify",
					int(p.allowedN)+j, keys[int(p.allowedN)+j], p.index, p.lastChild, c.at(p.lastChild).keyIndex)
			}
		}
		return a, err
	}
	a.signedBy, a.keyIndex, nd.keyIndex = allowed[idx], idx, int8(idx)
	if c.timed {
		ref := p
		if fork {
			ref = c.head()
		}
		if !e.CreatedAt.After(ref.createdAt()) {
			return a, wrapf(ErrTimestamp, "createdAt %s is not after %s (operation %d)", FormatTime(e.CreatedAt), FormatTime(ref.createdAt()), ref.index)
		}
	}
	if fork {
		if !c.timed {
			return a, ErrNoTimestamps
		}
		first := c.at(p.lastChild)
		lapsed := e.CreatedAt.Sub(first.createdAt())
		if lapsed > RecoveryWindow {
			return a, wrapf(ErrLateRecovery, "operation %d (%s, %s) would be nullified %s after it was created; the window closed at %s",
				first.index, first.cid(), FormatTime(first.createdAt()), lapsed, FormatTime(first.createdAt().Add(RecoveryWindow)))
		}
		a.first = int(first.index)
		for n := first.index; n >= 0; {
			x := c.at(n)
			x.nullified, x.nullifiedBy = true, c.n
			n = x.lastChild
		}
	}
	p.allowedN, p.lastChild = int8(idx), c.n
	c.push(nd)
	return a, nil
}

func (c *chain) push(nd node) {
	if c.full {
		c.byCID[nd.digest] = nd.index
	}
	c.nodes = append(c.nodes, nd)
	c.n++
	if !c.full && c.timed {
		c.pruneAt(nd.createdAt())
	}
}

// pruneAt drops the nodes no entry later than t can reach (t is the
// head's createdAt after an entry was added: a later entry comes after it), so a fork from an active
// node is possible only while its active child is less than the recovery
// window older than t, and a nullified node can never be a prev again (it
// is kept for as long as its own window, so that naming it is reported as
// such). A dropped node's nullified flag can no longer change: it is
// compared with the log's then.
func (c *chain) pruneAt(t time.Time) {
	h := c.head()
	kept := c.nodes[:0]
	for i := range c.nodes {
		x := c.nodes[i]
		keep := x.index == h.index
		switch {
		case keep:
		case x.nullified:
			keep = x.createdAt().Add(RecoveryWindow).After(t)
		case x.lastChild >= 0:
			keep = c.at(x.lastChild).createdAt().Add(RecoveryWindow).After(t)
		}
		if keep {
			kept = append(kept, x)
			continue
		}
		c.dropped = true
		c.checkFlag(&x)
	}
	clear(c.nodes[len(kept):])
	c.nodes = kept
	if cap(c.nodes) > len(c.nodes) {
		// Most DIDs keep one or two nodes for a long time: no spare
		// capacity.
		c.nodes = append([]node(nil), c.nodes...)
	}
}

// checkFlag records x as the chain's first flag mismatch if its final
// nullified flag differs from the log's.
func (c *chain) checkFlag(x *node) {
	if x.claimed == x.nullified || (c.mismatch != nil && c.mismatch.Index < int(x.index)) {
		return
	}
	c.mismatch = flagMismatch(int(x.index), x.cid(), "stream", x.claimed, x.nullified)
}

func flagMismatch(index int, cid, source string, claimed, rule bool) *OpError {
	return &OpError{Index: index, CID: cid, Err: fmt.Errorf("%w: %s says nullified=%v, the rules give %v",
		ErrNullifiedMismatch, source, claimed, rule)}
}

// finish checks the flags of the nodes still kept and returns the first
// mismatch of the log, nil if its flags are the rules'.
func (c *chain) finish() error {
	for i := range c.nodes {
		c.checkFlag(&c.nodes[i])
	}
	if c.mismatch == nil {
		return nil
	}
	return c.mismatch
}
