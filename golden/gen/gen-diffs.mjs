// Builds golden diff pairs with the reference implementation.
// For each case: a base repo (~500 records, rev revTid(0)), one commit made by
// the reference's Repo.formatCommit + applyCommit (rev revTid(1)), and:
//   golden/diffs/<case>/old.car       reference getFullRepo of the base commit
//   golden/diffs/<case>/new.car       reference getFullRepo of the new commit
//   golden/diffs/<case>/slice.car     blocksToCarFile(newCommit, CommitData.newBlocks)
//   golden/diffs/<case>/expected.json see README.md
import path from 'node:path'
import fs from 'node:fs'
import {
  DID_K256,
  GOLDEN_DIR,
  applyWritesAtRev,
  blobRef,
  buildWrites,
  cidStrs,
  createRepo,
  exportCar,
  followRecord,
  loadK256,
  packageVersions,
  postRecord,
  likeRecord,
  revTid,
  rkeyTid,
  writeBytes,
  writeJson,
} from './common.mjs'
import {
  DataDiff,
  MemoryBlockstore,
  Repo,

  blocksToCarFile,
  cidForRecord,
  readCar,
  readCarWithRoot,
  verifyDiffCar,
  verifyRepoCar,
} from '@atproto/repo'

const BASE_N = 500
const did = DID_K256
const keypair = await loadK256()
const versions = packageVersions()
const baseWrites = await buildWrites(BASE_N, did)
const basePaths = baseWrites.map((w) => ({ collection: w.collection, rkey: w.rkey }))
const keyOf = (w) => `${w.collection}/${w.rkey}`

// ---- cases: each returns the list of writes for the one new commit --------
const CASES = {
  'create-one': async () => [
    {
      action: 'create',
      collection: 'app.bsky.feed.post',
      rkey: rkeyTid(10_000),
      record: await postRecord(10_000, did),
    },
  ],
  'update-one': async () => {
    const target = baseWrites.find((w) => w.collection === 'app.bsky.feed.post')
    return [
      {
        action: 'update',
        collection: target.collection,
        rkey: target.rkey,
        record: { ...target.record, text: target.record.text + ' (edited ✏️)' },
      },
    ]
  },
  'delete-one': async () => {
    const target = baseWrites.filter((w) => w.collection === 'app.bsky.feed.like')[5]
    return [{ action: 'delete', collection: target.collection, rkey: target.rkey }]
  },
  // 40 creates, 30 updates (incl. the profile), 30 deletes, across collections
  'mixed-100': async () => {
    const writes = []
    for (let j = 0; j < 40; j++) {
      const i = 20_000 + j
      const rkey = rkeyTid(i)
      if (j % 3 === 0) {
        writes.push({ action: 'create', collection: 'app.bsky.feed.post', rkey, record: await postRecord(i, did) })
      } else if (j % 3 === 1) {
        const p = baseWrites.filter((w) => w.collection === 'app.bsky.feed.post')[j]
        writes.push({
          action: 'create',
          collection: 'app.bsky.feed.like',
          rkey,
          record: await likeRecord(i, `at://${did}/${keyOf(p)}`, await cidForRecord(p.record)),
        })
      } else {
        writes.push({ action: 'create', collection: 'app.bsky.graph.follow', rkey, record: followRecord(i) })
      }
    }
    const existing = baseWrites.slice(1) // not the profile
    const updated = new Set()
    const profile = baseWrites[0]
    writes.push({
      action: 'update',
      collection: profile.collection,
      rkey: profile.rkey,
      record: {
        ...profile.record,
        displayName: 'Ärbor Gölden (updated) 🌲',
        avatar: await blobRef('avatar-2', 'image/webp', 999),
      },
    })
    for (let k = 0; updated.size < 29; k++) {
      const w = existing[(k * 13) % existing.length]
      if (updated.has(keyOf(w))) continue
      updated.add(keyOf(w))
      writes.push({
        action: 'update',
        collection: w.collection,
        rkey: w.rkey,
        record: { ...w.record, createdAt: '2025-02-03T04:05:06.789Z' },
      })
    }
    const deleted = new Set()
    for (let k = 0; deleted.size < 30; k++) {
      const w = existing[(k * 17 + 5) % existing.length]
      if (updated.has(keyOf(w)) || deleted.has(keyOf(w))) continue
      deleted.add(keyOf(w))
      writes.push({ action: 'delete', collection: w.collection, rkey: w.rkey })
    }
    return writes
  },
  'delete-collection': async () =>
    basePaths
      .filter((p) => p.collection === 'app.bsky.graph.follow')
      .map((p) => ({ action: 'delete', ...p })),
  // Delete one record and create another with byte-identical content at a new
  // key: the record block already exists, so the reference leaves it out of
  // newBlocks (and out of removedCids).
  'move-record': async () => {
    const target = baseWrites.filter((w) => w.collection === 'app.bsky.feed.post')[10]
    return [
      { action: 'delete', collection: target.collection, rkey: target.rkey },
      { action: 'create', collection: target.collection, rkey: rkeyTid(30_000), record: target.record },
    ]
  },
  // A commit with no writes: same MST root, new rev, new commit.
  noop: async () => [],
}

const repoFromCar = async (bytes) => {
  const car = await readCarWithRoot(bytes)
  const storage = new MemoryBlockstore(car.blocks)
  return Repo.load(storage, car.root)
}

const outRoot = path.join(GOLDEN_DIR, 'diffs')
const summary = []
for (const [name, makeWrites] of Object.entries(CASES)) {
  const { repo: base, storage } = await createRepo(did, keypair, baseWrites, revTid(0))
  const oldCar = await exportCar(storage, base.cid)
  const oldCommit = base.cid
  const oldRev = base.commit.rev
  const oldRoot = await base.data.getPointer()

  const writes = await makeWrites()
  const { repo: next, commit } = await applyWritesAtRev(base, writes, keypair, revTid(1))
  const newCar = await exportCar(storage, next.cid)
  const slice = await blocksToCarFile(commit.cid, commit.newBlocks)

  // The reference's own diff between the two trees (loaded from the CARs, so
  // no state is shared with the commit that was just made).
  const oldRepo = await repoFromCar(oldCar)
  const newRepo = await repoFromCar(newCar)
  const diff = await DataDiff.of(newRepo.data, oldRepo.data)
  const byPath = (a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
  const creates = diff.addList().map((d) => ({ path: d.key, cid: d.cid.toString() })).sort(byPath)
  const updates = diff
    .updateList()
    .map((d) => ({ path: d.key, prev: d.prev.toString(), cid: d.cid.toString() }))
    .sort(byPath)
  const deletes = diff.deleteList().map((d) => ({ path: d.key, prev: d.cid.toString() })).sort(byPath)

  // Cross-check: the reference's sync verifier, given the old repo and the
  // slice, must accept it and agree on the writes and the block sets.
  const verified = await verifyDiffCar(oldRepo, slice, did, keypair.did())
  const vNew = cidStrs(verified.commit.newBlocks.cids())
  const vRemoved = cidStrs(verified.commit.removedCids.toList())
  const newBlocks = cidStrs(commit.newBlocks.cids())
  const removedCids = cidStrs(commit.removedCids.toList())
  if (JSON.stringify(vNew) !== JSON.stringify(newBlocks)) throw new Error(`${name}: verifyDiff newBlocks differ`)
  if (JSON.stringify(vRemoved) !== JSON.stringify(removedCids)) throw new Error(`${name}: verifyDiff removedCids differ`)
  if (verified.writes.length !== creates.length + updates.length + deletes.length)
    throw new Error(`${name}: verifyDiff write count differs`)
  await verifyRepoCar(newCar, did, keypair.did())

  const sliceParsed = await readCar(slice)
  const sliceOrder = []
  for (const e of sliceParsed.blocks.entries()) sliceOrder.push(e.cid.toString())
  // Classify the new blocks the reference reports.
  const newMstNodes = []
  const newRecords = []
  const leafCids = new Set((await newRepo.data.list()).map((l) => l.value.toString()))
  const treeCids = new Set()
  for await (const e of newRepo.data.walk()) if (e.isTree()) treeCids.add((await e.getPointer()).toString())
  for (const c of newBlocks) {
    if (c === commit.cid.toString()) continue
    if (leafCids.has(c)) newRecords.push(c)
    else if (treeCids.has(c)) newMstNodes.push(c)
    else throw new Error(`${name}: new block ${c} is neither record nor MST node`)
  }

  const expected = {
    case: name,
    did,
    signingKey: keypair.did(),
    ops: writes.map((w) => ({ action: w.action, path: `${w.collection}/${w.rkey}` })),
    creates,
    updates,
    deletes,
    oldCommit: oldCommit.toString(),
    newCommit: commit.cid.toString(),
    oldRoot: oldRoot.toString(),
    newRoot: (await next.data.getPointer()).toString(),
    oldRev,
    newRev: commit.rev,
    since: commit.since,
    prev: commit.prev ? commit.prev.toString() : null,
    oldRecordCount: (await oldRepo.data.list()).length,
    newRecordCount: (await newRepo.data.list()).length,
    newBlocks,
    newBlockCounts: { commit: 1, mstNodes: newMstNodes.length, records: newRecords.length },
    removedCids,
    sliceBlockOrder: sliceOrder,
    generator: { script: 'golden/gen/gen-diffs.mjs', packages: versions },
  }
  const dir = path.join(outRoot, name)
  fs.mkdirSync(dir, { recursive: true })
  writeBytes(path.join(dir, 'old.car'), oldCar)
  writeBytes(path.join(dir, 'new.car'), newCar)
  writeBytes(path.join(dir, 'slice.car'), slice)
  writeJson(path.join(dir, 'expected.json'), expected)
  summary.push({ case: name, creates: creates.length, updates: updates.length, deletes: deletes.length, newBlocks: newBlocks.length, removedCids: removedCids.length })
  console.log(`${name}: +${creates.length} ~${updates.length} -${deletes.length} newBlocks=${newBlocks.length} (mst ${newMstNodes.length}, records ${newRecords.length}) removed=${removedCids.length} newRoot=${expected.newRoot}`)
}
writeJson(path.join(outRoot, 'index.json'), { baseRecordCount: BASE_N, cases: summary, packages: versions })
