#!/usr/bin/env node
// Verifies a repo CAR with the reference implementation (@atproto/repo).
//
//   node verify-car.mjs FILE.car DIDKEY [DID]
//
// Prints one JSON object on stdout:
//   {ok, verifierOk, mstCanonical, commitCid, dataCid, rev, did, version,
//    recordCount, records: [{path, cid}], error}
// and exits 0 when ok, 1 when verification failed, 2 on bad usage / unreadable file.
//
// verifierOk: the reference's verifyRepoCar(car, did, didKey) accepted the
//   file: every CAR block's bytes hash to its CID (readCar), the single root is
//   a commit signed by DIDKEY, commit.did equals DID (when given), every MST
//   node and every record block reachable from the commit is present and
//   every MST key is syntactically valid. It does NOT check that the MST has
//   the canonical shape (layers by key hash, key order, no empty nodes).
// mstCanonical: the records, re-inserted one by one into a fresh reference
//   MST (MST.create + add), give the same root CID as commit.data. This is the
//   canonical-shape check the reference verifier leaves out.
// ok = verifierOk && mstCanonical.
import fs from 'node:fs'
import {
  MST,
  MemoryBlockstore,
  def,
  readCarWithRoot,
  verifyRepoCar,
} from '@atproto/repo'

const out = {
  ok: false,
  verifierOk: false,
  mstCanonical: false,
  commitCid: null,
  dataCid: null,
  rev: null,
  did: null,
  version: null,
  recordCount: 0,
  records: [],
  error: null,
}
const finish = (code) => {
  process.stdout.write(JSON.stringify(out) + '\n')
  process.exit(code)
}

const [file, didKey, did] = process.argv.slice(2)
if (!file || !didKey || !didKey.startsWith('did:key:')) {
  out.error = 'usage: node verify-car.mjs FILE.car DIDKEY [DID]'
  finish(2)
}
let bytes
try {
  bytes = new Uint8Array(fs.readFileSync(file))
} catch (err) {
  out.error = `cannot read ${file}: ${err.message}`
  finish(2)
}

try {
  // Header and commit fields, read leniently so they are reported even when
  // verification fails later.
  try {
    const car = await readCarWithRoot(bytes)
    out.commitCid = car.root.toString()
    const store = new MemoryBlockstore(car.blocks)
    const commit = await store.readObj(car.root, def.versionedCommit)
    out.dataCid = commit.data.toString()
    out.rev = commit.rev ?? null
    out.did = commit.did
    out.version = commit.version
  } catch {
    // reported by the verifier below
  }

  const verified = await verifyRepoCar(bytes, did, didKey)
  out.verifierOk = true
  out.commitCid = verified.commit.cid.toString()
  out.rev = verified.commit.rev
  out.records = verified.creates
    .map((c) => ({ path: `${c.collection}/${c.rkey}`, cid: c.cid.toString() }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  out.recordCount = out.records.length

  let mst = await MST.create(new MemoryBlockstore())
  for (const r of out.records) {
    mst = await mst.add(r.path, verified.creates.find((c) => `${c.collection}/${c.rkey}` === r.path).cid)
  }
  const rebuilt = (await mst.getPointer()).toString()
  out.mstCanonical = rebuilt === out.dataCid
  if (!out.mstCanonical) {
    out.error = `MST not canonical: commit.data is ${out.dataCid}, the same records give ${rebuilt}`
    finish(1)
  }
  out.ok = true
  finish(0)
} catch (err) {
  out.error = err instanceof Error ? err.message : String(err)
  finish(1)
}
