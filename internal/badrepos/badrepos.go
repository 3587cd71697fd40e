// Package badrepos generates arbor's corpus of invalid repositories
// (testdata/invalid-repos/, documented in docs/invalid-repos.md): small CAR
// files, each with one fault, each with a JSON sidecar naming the verdict a
// verifier must give. Everything is deterministic: a fixed P-256 signing
// key with RFC 6979 (deterministic, low-S) signatures, fixed revs, DIDs and
// record contents, so running the generator again gives the same bytes.
//
// Regenerate with `go run ./internal/badrepos/gen` from the repository
// root.
package badrepos

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

// Fixed values of every case.
const (
	DID       = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
	Rev       = "3jzfcijpj2z2a"
	CreatedAt = "2024-01-01T00:00:00.000Z"
	// keySeed and otherSeed are hashed into the P-256 private keys: the
	// signing key of every case, and the key that signs the "wrong key" one.
	keySeed   = "arbor invalid-repos corpus signing key v1"
	otherSeed = "arbor invalid-repos corpus other key v1"
)

// Expect is the verdict a verifier must give on a case, given the public
// key of Key() (arbor: `arbor verify --key KEY --json FILE`).
type Expect struct {
	// VerifyExit is 0 (valid), 1 (invalid repository) or 2 (unreadable).
	VerifyExit int `json:"verify_exit"`
	// Kind is the problem's kind in arbor's report (header, block, commit,
	// signature, mst, record), "" when any kind will do.
	Kind string `json:"kind,omitempty"`
	// Problem is a substring (compared case-insensitively) of one reported
	// problem, or of the error for exit 2.
	Problem string `json:"problem"`
}

// Inspect is what a correct inspection reports on a case (only where the
// fault is in how a repository is read rather than in the repository).
type Inspect struct {
	Commits      int `json:"commits"`             // commits reachable through prev
	Unreferenced int `json:"unreferenced_blocks"` // blocks nothing reaches
}

// Sidecar is the JSON file written beside each CAR.
type Sidecar struct {
	File  string `json:"file"`
	Fault string `json:"fault"`
	Issue string `json:"issue,omitempty"` // arbor issue 16, item N: where the fault was reported
	Key   string `json:"key"`             // did:key of the signing key
	// Args are more arguments of the verification (--record PATH: check
	// the file as a proof of one record).
	Args        []string `json:"args,omitempty"`
	Expect      Expect   `json:"expect"`
	Inspect     *Inspect `json:"inspect,omitempty"`
	Description string   `json:"description"`
}

// Case is one generated repository.
type Case struct {
	Sidecar
	CAR []byte
}

// seedKey derives a P-256 private key from a seed string.
func seedKey(seed string) atcrypto.PrivateKeyExportable {
	h := sha256.Sum256([]byte(seed))
	k, err := atcrypto.ParsePrivateBytesP256(h[:])
	if err != nil {
		panic(err) // a fixed seed: cannot happen
	}
	return k
}

// sign is atproto's P-256 signature of msg by the key of seed: ECDSA over
// SHA-256(msg), R and S as 32 bytes each, S in the lower half. Unlike
// atcrypto's HashAndSign it is deterministic (RFC 6979).
func sign(seed string, msg []byte) []byte {
	h := sha256.Sum256([]byte(seed))
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), h[:])
	if err != nil {
		panic(err)
	}
	digest := sha256.Sum256(msg)
	der, err := priv.Sign(nil, digest[:], crypto.SHA256)
	if err != nil {
		panic(err)
	}
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &rs); err != nil {
		panic(err)
	}
	n := elliptic.P256().Params().N
	if rs.S.Cmp(new(big.Int).Rsh(n, 1)) > 0 {
		rs.S.Sub(n, rs.S)
	}
	sig := make([]byte, 64)
	rs.R.FillBytes(sig[:32])
	rs.S.FillBytes(sig[32:])
	return sig
}

// Key returns the corpus signing key.
func Key() atcrypto.PrivateKeyExportable { return seedKey(keySeed) }

// PublicKey returns the did:key of Key().
func PublicKey() string {
	pub, err := Key().PublicKey()
	if err != nil {
		panic(err)
	}
	return pub.DIDKey()
}

// block is one CAR section.
type block struct {
	c    cid.Cid
	data []byte
}

// builder gathers blocks in the order they are put.
type builder struct {
	blocks []block
	seen   map[cid.Cid]bool
}

func newBuilder() *builder { return &builder{seen: map[cid.Cid]bool{}} }

func (b *builder) putRaw(c cid.Cid, data []byte) {
	if !b.seen[c] {
		b.seen[c] = true
		b.blocks = append(b.blocks, block{c, data})
	}
}

func (b *builder) put(data []byte) cid.Cid {
	c := dagcbor.SumCID(dagcbor.CodecDagCBOR, data)
	b.putRaw(c, data)
	return c
}

func (b *builder) node(n *mst.NodeData) cid.Cid { return b.put(mst.EncodeNode(n)) }

// drop removes the block c.
func (b *builder) drop(c cid.Cid) {
	for i, bl := range b.blocks {
		if bl.c == c {
			b.blocks = append(b.blocks[:i], b.blocks[i+1:]...)
			delete(b.seen, c)
			return
		}
	}
	panic("badrepos: no block " + c.String())
}

// replace keeps c's CID and section but gives it other bytes.
func (b *builder) replace(c cid.Cid, data []byte) {
	for i, bl := range b.blocks {
		if bl.c == c {
			b.blocks[i].data = data
			return
		}
	}
	panic("badrepos: no block " + c.String())
}

func (b *builder) get(c cid.Cid) []byte {
	for _, bl := range b.blocks {
		if bl.c == c {
			return bl.data
		}
	}
	panic("badrepos: no block " + c.String())
}

// car writes the blocks, commit (or root) first, under roots.
func (b *builder) car(roots ...cid.Cid) []byte {
	var buf bytes.Buffer
	w, err := car.NewWriter(&buf, roots)
	if err != nil {
		panic(err)
	}
	for _, bl := range b.blocks {
		if err := w.Put(bl.c, bl.data); err != nil {
			panic(err)
		}
	}
	if err := w.Flush(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// signed is the CAR of a repository over the tree root: the blocks under
// a commit signed with Key().
func (b *builder) signed(root cid.Cid) []byte { return b.car(b.commit(root, "", nil)) }

// commit puts a signed commit over data; edit may change the commit
// before it is signed (by the key of seed, or Key() when "").
func (b *builder) commit(data cid.Cid, seed string, edit func(*repo.Commit)) cid.Cid {
	c := &repo.Commit{DID: DID, Version: repo.VersionCurrent, Data: data, Rev: Rev}
	if edit != nil {
		edit(c)
	}
	if seed == "" {
		seed = keySeed
	}
	c.Sig = sign(seed, c.UnsignedBytes())
	raw, err := c.Bytes()
	if err != nil {
		panic(err)
	}
	return b.put(raw)
}

// post is the canonical DAG-CBOR of a small app.bsky.feed.post record.
func post(text string) []byte {
	b, err := dagcbor.Encode(map[string]any{"$type": "app.bsky.feed.post", "text": text, "createdAt": CreatedAt})
	if err != nil {
		panic(err)
	}
	return b
}

func encode(v any) []byte {
	b, err := dagcbor.Encode(v)
	if err != nil {
		panic(err)
	}
	return b
}

// keysAt returns n record paths in collection coll whose MST height is h,
// in key order (rkeys k0000, k0001, ...: fixed width, so sorted).
func keysAt(coll string, h, n int) []string {
	var out []string
	for i := 0; len(out) < n; i++ {
		k := fmt.Sprintf("%s/k%04d", coll, i)
		if mst.Height([]byte(k)) == h {
			out = append(out, k)
		}
	}
	return out
}

const posts = "app.bsky.feed.post"

// entries makes the entries of one node for keys (in the given order) with
// minimal prefix compression, each entry's right subtree from rights (nil:
// none).
func entries(keys []string, vals []cid.Cid, rights []cid.Cid) []mst.EntryData {
	return mst.Entries(keys, vals, rights)
}

// records puts one post per key and returns their CIDs.
func (b *builder) records(keys []string) []cid.Cid {
	var out []cid.Cid
	for i := range keys {
		out = append(out, b.put(post(fmt.Sprintf("post %d", i))))
	}
	return out
}

// validTree builds the canonical tree of keys (sorted) with one post each,
// through mst.Builder, and returns its root and the record CIDs by key.
func (b *builder) validTree(keys []string) (cid.Cid, map[string]cid.Cid) {
	recs := map[string]cid.Cid{}
	vals := b.records(keys)
	for i, k := range keys {
		recs[k] = vals[i]
	}
	sorted := append([]string(nil), keys...)
	sort.Strings(sorted)
	sortedVals := make([]cid.Cid, len(sorted))
	for i, k := range sorted {
		sortedVals[i] = recs[k]
	}
	return b.tree(sorted, sortedVals), recs
}

// tree builds, through mst.Builder, the tree of keys (in key order), each
// pointing to the CID of vals at the same index, and returns its root.
func (b *builder) tree(keys []string, vals []cid.Cid) cid.Cid {
	mb := mst.NewBuilder(func(c cid.Cid, data []byte) error { b.putRaw(c, data); return nil })
	for i, k := range keys {
		if err := mb.Add([]byte(k), vals[i]); err != nil {
			panic(err)
		}
	}
	root, err := mb.Finish()
	if err != nil {
		panic(err)
	}
	return root
}

// leaf puts one post and a leaf node holding it (a key of height 0), and
// returns the node's CID and the record's.
func (b *builder) leaf() (cid.Cid, []cid.Cid) {
	k := keysAt(posts, 0, 1)
	vals := b.records(k)
	return b.node(&mst.NodeData{Entries: entries(k, vals, nil)}), vals
}

// twoLayerKeys are the keys of the base repository: two keys of height 1
// and five of height 0, so the canonical tree has a root and leaves.
func twoLayerKeys() []string {
	ks := append(keysAt(posts, 1, 2), keysAt(posts, 0, 5)...)
	sort.Strings(ks)
	return ks
}

// leafOf returns a node CID of the tree under root other than root.
func (b *builder) leafOf(root cid.Cid) cid.Cid {
	n, err := mst.DecodeNode(b.get(root))
	if err != nil {
		panic(err)
	}
	if n.Left.Defined() {
		return n.Left
	}
	for _, e := range n.Entries {
		if e.Right.Defined() {
			return e.Right
		}
	}
	panic("badrepos: root has no subtree")
}

// swap replaces the first occurrence of old in data by new, of the same
// length, so that an encoding stays well-formed.
func swap(data []byte, old, new string) []byte {
	if len(old) != len(new) || !bytes.Contains(data, []byte(old)) {
		panic("badrepos: cannot swap " + old)
	}
	return bytes.Replace(data, []byte(old), []byte(new), 1)
}

// Cases returns every case, in name order.
func Cases() []Case {
	key := PublicKey()
	var out []Case
	add := func(name, fault, issue string, exp Expect, desc string, carBytes []byte) {
		out = append(out, Case{Sidecar{File: name + ".car", Fault: fault, Issue: issue, Key: key, Expect: exp, Description: desc}, carBytes})
	}
	invalid := func(kind, problem string) Expect { return Expect{VerifyExit: 1, Kind: kind, Problem: problem} }

	// The base: a valid repository, the control case.
	{
		b := newBuilder()
		root, _ := b.validTree(twoLayerKeys())
		c := b.commit(root, "", nil)
		add("valid-base", "none", "", Expect{VerifyExit: 0, Problem: ""},
			"A valid signed v3 repository (7 posts, two MST layers): the control case; every other case differs from a repository like it by one fault.",
			b.car(c))
	}
	// Item 1: no commit.
	{
		b := newBuilder()
		root, _ := b.validTree(twoLayerKeys())
		add("no-commit", "no-commit", "16.1", invalid("commit", "no commit"),
			"The header root is an MST node: there is no commit, so nothing is signed. Readable as a bare tree, but with a key to check it must fail.",
			b.car(root))
	}
	{
		// A genuine proof of one record (commit, the nodes on the key's
		// path, the record), whose header root was moved to the leaf.
		b := newBuilder()
		ks := twoLayerKeys()
		root, recs := b.validTree(ks)
		leaf := b.leafOf(root)
		var r mst.NodeReader
		n, err := r.Decode(leaf, b.get(leaf))
		if err != nil {
			panic(err)
		}
		var rk []byte
		if len(n.Entries) > 0 {
			rk = n.Entries[0].Key
		}
		p := newBuilder()
		c := b.commit(root, "", nil)
		p.putRaw(c, b.get(c))
		p.putRaw(root, b.get(root))
		p.putRaw(leaf, b.get(leaf))
		p.putRaw(recs[string(rk)], b.get(recs[string(rk)]))
		out = append(out, Case{Sidecar{File: "record-proof-no-commit.car", Fault: "no-commit", Issue: "16.1", Key: key,
			Args:   []string{"--record", string(rk)},
			Expect: invalid("commit", "no commit"),
			Description: "A genuine proof of " + string(rk) + " (commit, root node, leaf node, record) whose header root is the leaf node instead of the commit. " +
				"Checked as a proof of that record with a key, it must fail: nothing is signed."}, p.car(leaf)})
	}
	// Item 2: a deep chain of entry-less nodes.
	{
		b := newBuilder()
		c, _ := b.leaf()
		for range 1000 {
			c = b.node(&mst.NodeData{Left: c})
		}
		add("deep-chain-1000", "deep-entryless-chain", "16.2", invalid("mst", "deeper than any layer"),
			"A signed commit over a chain of 1,000 entry-less MST nodes above one leaf (correct hashes). No tree is deeper than 129 levels (128 layers of a 256-bit hash, fanout 4); a verifier must refuse it in time linear in the input, without recursion bounded only by the input.",
			b.signed(c))
	}
	// Item 5: an MST node and a record whose bytes do not match their CID.
	{
		b := newBuilder()
		root, _ := b.validTree(twoLayerKeys())
		leaf := b.leafOf(root)
		b.replace(leaf, swap(b.get(leaf), "k0", "x0"))
		add("node-wrong-hash", "node-hash-mismatch", "16.5", invalid("", "hash mismatch"),
			"An MST leaf node's bytes were changed (a key suffix) but its CID was kept: the block does not hash to its CID. It must be listed as a problem like any other (exit 1), with the rest of the report.",
			b.signed(root))
	}
	{
		b := newBuilder()
		root, recs := b.validTree(twoLayerKeys())
		r := recs[twoLayerKeys()[0]]
		b.replace(r, swap(b.get(r), "post 0", "post X"))
		add("record-wrong-hash", "record-hash-mismatch", "16.5", invalid("", "hash mismatch"),
			"A record block's bytes were changed (its text) but its CID was kept: the block does not hash to its CID.",
			b.signed(root))
	}
	// Item 6.
	{
		b := newBuilder()
		root, _ := b.validTree(twoLayerKeys())
		c := b.commit(root, "", nil)
		add("two-roots", "header-two-roots", "16.6", invalid("header", "exactly one root"),
			"The CAR header lists two roots (the commit, then the MST root); a repository CAR has exactly one, the commit.",
			b.car(c, root))
	}
	// recordCase is the base repository with its first record replaced by
	// rec; kind "" when the fault is the block's encoding.
	recordCase := func(name, fault, kind, problem, desc string, rec []byte) {
		b := newBuilder()
		ks := twoLayerKeys()
		vals := b.records(ks)
		b.drop(vals[0])
		vals[0] = b.put(rec)
		root := b.tree(ks, vals)
		issue := "16.6"
		if kind == "" {
			issue = "" // the encoding fault is not from the issue
		}
		add(name, fault, issue, invalid(kind, problem), desc, b.signed(root))
	}
	recordCase("record-not-map", "record-not-map", "record", "not a map",
		"A record is a DAG-CBOR array, not a map.", encode([]any{"app.bsky.feed.post", "not a map"}))
	recordCase("record-no-type", "record-without-type", "record", "no $type",
		"A record is a map without $type.", encode(map[string]any{"text": "no type", "createdAt": CreatedAt}))
	recordCase("record-type-not-string", "record-type-not-string", "record", "$type is not",
		"A record's $type is the integer 42, not a string.", encode(map[string]any{"$type": 42, "text": "odd type", "createdAt": CreatedAt}))
	recordCase("record-too-large", "record-over-1mib", "record", "larger than",
		"A record of 1 MiB + 1 KiB (a long text): larger than the 1 MiB a repository may hold, which createRecord refuses. (The file is about 1 MiB.)",
		encode(map[string]any{"$type": "app.bsky.feed.post", "text": strings.Repeat("a", 1<<20+1<<10), "createdAt": CreatedAt}))
	{
		// non-canonical DAG-CBOR: "$type" (5 bytes) before "text" (4 bytes)
		var w bytes.Buffer
		w.WriteByte(0xa2)
		w.Write(encode("$type"))
		w.Write(encode(posts))
		w.Write(encode("text"))
		w.Write(encode("not canonical"))
		recordCase("record-noncanonical-cbor", "record-noncanonical-cbor", "", "canonical",
			"A record whose map keys are out of DAG-CBOR's canonical order ($type before text; shorter keys come first). Its CID is the hash of these exact bytes.",
			w.Bytes())
	}
	{
		b := newBuilder()
		root, _ := b.validTree(twoLayerKeys())
		c := b.commit(root, "", func(c *repo.Commit) { c.Version = repo.VersionLegacy })
		add("v2-commit-with-rev", "v2-commit-with-rev", "16.6", invalid("commit", "rev"),
			"A version 2 commit carrying rev (only version 3 commits have one), otherwise valid and signed.",
			b.car(c))
	}
	{
		b := newBuilder()
		root, _ := b.validTree(twoLayerKeys())
		c := b.commit(root, "", func(c *repo.Commit) { c.DID = "did:plc:AAAA" })
		add("commit-did-invalid", "invalid-commit-did", "16.6", invalid("commit", "did:plc:AAAA"),
			"The commit's DID is did:plc:AAAA: valid generic DID syntax but not a did:plc (24 lower-case base32 characters).",
			b.car(c))
	}
	{
		b := newBuilder()
		ks := []string{"notannsid/k0000", posts + "/k0001"}
		sort.Strings(ks)
		root, _ := b.validTree(ks)
		add("collection-not-nsid", "collection-not-nsid", "16.6", invalid("record", "NSID"),
			"A record's collection is notannsid, a valid MST key segment but not an NSID (export cannot make a folder of it).",
			b.signed(root))
	}
	// Item 9: trees whose nodes share subtrees (DAGs).
	{
		// Layers right: the node of layer i holds one key of height i.
		b := newBuilder()
		c, vals := b.leaf()
		for h := 1; h <= 8; h++ {
			c = b.node(&mst.NodeData{Left: c, Entries: entries(keysAt(posts, h, 1), vals, []cid.Cid{c})})
		}
		add("shared-subtree-dag", "shared-subtree", "16.9", invalid("mst", "reuse"),
			"8 MST nodes, one per layer (each key of its node's height), each linking the same child both as its left subtree and as its entry's right subtree: a DAG, not a tree. A node reached twice must be reported.",
			b.signed(c))
	}
	{
		// 28 levels: no key set can have the heights, so layers are wrong too.
		b := newBuilder()
		c, vals := b.leaf()
		for i := range 28 {
			ki := []string{fmt.Sprintf("%s/d%04d", posts, i)}
			c = b.node(&mst.NodeData{Left: c, Entries: entries(ki, vals, []cid.Cid{c})})
		}
		add("shared-subtree-dag-28", "shared-subtree", "16.9", invalid("mst", "layer"),
			"28 MST nodes, each linking the same child both as its left subtree and as its entry's right subtree: 2^28 paths in 28 nodes (the shape that made view run for days). Keys of the needed heights cannot be found, so the layers are wrong as well; any walker must refuse it in linear time.",
			b.signed(c))
	}
	// Non-canonical MST shapes.
	{
		b := newBuilder()
		ks := keysAt(posts, 0, 3)
		vals := b.records(ks)
		ks[0], ks[1] = ks[1], ks[0]
		vals[0], vals[1] = vals[1], vals[0]
		root := b.node(&mst.NodeData{Entries: entries(ks, vals, nil)})
		add("mst-unsorted-keys", "mst-unsorted", "", invalid("mst", "out of order"),
			"One MST node whose first two keys are swapped (prefix compression correct for the order given).",
			b.signed(root))
	}
	{
		b := newBuilder()
		ks := append(keysAt(posts, 0, 2), keysAt(posts, 1, 1)...)
		sort.Strings(ks)
		vals := b.records(ks)
		root := b.node(&mst.NodeData{Entries: entries(ks, vals, nil)})
		add("mst-wrong-layer", "mst-wrong-layer", "", invalid("mst", "wrong layer"),
			"One MST node holding two keys of height 0 and one of height 1: the height-1 key belongs in a node above the others.",
			b.signed(root))
	}
	{
		b := newBuilder()
		ks := keysAt(posts, 0, 3)
		vals := b.records(ks)
		es := entries(ks, vals, nil)
		mst.ExpandEntry(es, 1)
		root := b.node(&mst.NodeData{Entries: es})
		add("mst-nonminimal-prefix", "mst-nonminimal-prefix", "", invalid("mst", "non-minimal"),
			"One MST node whose second entry repeats its whole key (prefix 0) instead of sharing the prefix it has with the first: the encoding is not canonical, so the node's CID is not the one every implementation computes.",
			b.signed(root))
	}
	{
		b := newBuilder()
		hi := keysAt(posts, 1, 1)
		lo := keysAt(posts, 0, 20)
		var after []string
		for _, k := range lo {
			if k > hi[0] {
				after = append(after, k)
			}
		}
		after = after[:2]
		vals := b.records(append(hi, after...))
		right := b.node(&mst.NodeData{Entries: entries(after, vals[1:], nil)})
		empty := b.node(&mst.NodeData{})
		root := b.node(&mst.NodeData{Left: empty, Entries: entries(hi, vals[:1], []cid.Cid{right})})
		add("mst-empty-inner-node", "mst-empty-node", "", invalid("mst", "empty"),
			"The root's left subtree is an empty node ({e: [], l: null}); an empty subtree is written as a null link, never as a node.",
			b.signed(root))
	}
	{
		b := newBuilder()
		ks := keysAt(posts, 0, 2)
		vals := b.records(ks)
		leaf := b.node(&mst.NodeData{Entries: entries(ks, vals, nil)})
		root := b.node(&mst.NodeData{Left: leaf})
		add("mst-entryless-root", "mst-entryless-root", "", invalid("mst", "empty"),
			"The root node has no entries and only a left link to a leaf: the canonical tree is the leaf itself.",
			b.signed(root))
	}
	// Item 8: a legacy v2 export with history, old records not kept.
	{
		b := newBuilder()
		ks := keysAt(posts, 0, 3)
		var prev cid.Cid
		var head cid.Cid
		for i := 1; i <= 3; i++ {
			// the tree of commit i: keys[:i], each record's text naming the commit
			mb := mst.NewBuilder(func(c cid.Cid, data []byte) error { b.putRaw(c, data); return nil })
			for j, k := range ks[:i] {
				rec := post(fmt.Sprintf("post %d of commit %d", j, i))
				rc := dagcbor.SumCID(dagcbor.CodecDagCBOR, rec)
				if i == 3 {
					b.putRaw(rc, rec) // only the head's records are kept
				}
				if err := mb.Add([]byte(k), rc); err != nil {
					panic(err)
				}
			}
			root, err := mb.Finish()
			if err != nil {
				panic(err)
			}
			pv := prev
			head = b.commit(root, "", func(c *repo.Commit) { c.Version, c.Rev, c.Prev = repo.VersionLegacy, "", pv })
			prev = head
		}
		cs := Case{Sidecar{File: "v2-history-old-records-dropped.car", Fault: "none", Issue: "16.8", Key: key,
			Expect:  Expect{VerifyExit: 0},
			Inspect: &Inspect{Commits: 3, Unreferenced: 0},
			Description: "A valid legacy (version 2) export with history: three commits linked by prev, every commit's MST nodes, " +
				"but only the head's record bodies (exports do not keep old ones). All three commits are reachable and no block is unreferenced."}, b.car(head)}
		out = append(out, cs)
	}
	// Unreadable input.
	{
		b := newBuilder()
		root, _ := b.validTree(twoLayerKeys())
		full := b.signed(root)
		add("truncated", "truncated-car", "", Expect{VerifyExit: 2, Problem: "truncated"},
			"A valid repository CAR cut 20 bytes before its end, inside the last block: unreadable input (exit 2), not a verdict on a repository.",
			full[:len(full)-20])
	}
	// Signatures.
	{
		b := newBuilder()
		root, _ := b.validTree(twoLayerKeys())
		// sign the commit with another rev, then give it back its rev
		c := &repo.Commit{DID: DID, Version: repo.VersionCurrent, Data: root, Rev: "3jzfcijpj2z2b"}
		c.Sig = sign(keySeed, c.UnsignedBytes())
		c.Rev = Rev
		raw, err := c.Bytes()
		if err != nil {
			panic(err)
		}
		add("bad-signature", "bad-signature", "", invalid("signature", "bad signature"),
			"The commit's signature is a valid signature by the corpus key, but over the commit with another rev: it does not verify.",
			b.car(b.put(raw)))
	}
	{
		b := newBuilder()
		root, _ := b.validTree(twoLayerKeys())
		add("signed-by-other-key", "wrong-key", "", invalid("signature", "bad signature"),
			"The commit is correctly signed, but by another key than the one given.",
			b.car(b.commit(root, otherSeed, nil)))
	}
	// Missing blocks.
	{
		b := newBuilder()
		root, recs := b.validTree(twoLayerKeys())
		b.drop(recs[twoLayerKeys()[3]])
		add("missing-record", "missing-record-block", "", invalid("record", "missing"),
			"A record the tree points to is not in the file.",
			b.signed(root))
	}
	{
		b := newBuilder()
		root, _ := b.validTree(twoLayerKeys())
		b.drop(b.leafOf(root))
		add("missing-node", "missing-mst-node", "", invalid("mst", "missing"),
			"An MST node the root points to is not in the file (a full repository export must hold every node).",
			b.signed(root))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out
}

// SidecarBytes is the JSON of a sidecar as written.
func SidecarBytes(s Sidecar) []byte {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

// SidecarName is the sidecar file of a case's CAR.
func SidecarName(carFile string) string { return strings.TrimSuffix(carFile, ".car") + ".json" }

// Write writes every case and its sidecar into dir and removes CAR and JSON
// files there that no case produces.
func Write(dir string) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	keep := map[string]bool{}
	cases := Cases()
	for _, c := range cases {
		keep[c.File], keep[SidecarName(c.File)] = true, true
		if err := os.WriteFile(filepath.Join(dir, c.File), c.CAR, 0o644); err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(dir, SidecarName(c.File)), SidecarBytes(c.Sidecar), 0o644); err != nil {
			return 0, err
		}
	}
	old, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	for _, e := range old {
		n := e.Name()
		if (strings.HasSuffix(n, ".car") || strings.HasSuffix(n, ".json")) && !keep[n] {
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return 0, err
			}
		}
	}
	return len(cases), nil
}
