// Shared helpers for the golden generators. Everything that ends up in a
// golden file is produced by the reference implementation (@atproto/repo,
// @atproto/crypto); this module only supplies fixed inputs (keys, DIDs, record
// keys, record contents, revs) and reads values back out of the reference's
// own objects.
import { TID } from '@atproto/common-web'
import { P256Keypair, Secp256k1Keypair } from '@atproto/crypto'
import { cidForRawBytes } from '@atproto/lex-data'
import {
  MST,
  MemoryBlockstore,
  Repo,
  concatBytesAsync,
  getFullRepo,
  readCar,
  cidForRecord,
  parseDataKey,
} from '@atproto/repo'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const GEN_DIR = path.dirname(fileURLToPath(import.meta.url))
export const GOLDEN_DIR = path.resolve(GEN_DIR, '..')

// Fixed test keys. NOT secret: these exist only to make the fixtures
// reproducible. sha256("arbor golden secp256k1 key") / sha256("arbor golden p256 key").
export const K256_PRIVATE_HEX =
  '3f33a56d841914ae2162d517127ffec98b60293be66d7516a503f1a9b8a1b902'
export const P256_PRIVATE_HEX =
  'eab96fe5eafa9a99f9a06bdbdc8eb3f1e296398fc598ba963c9e77abe8243014'

// did:plc identifiers are 24 chars of base32 [a-z2-7]; these are made up.
export const DID_K256 = 'did:plc:arborgoldenrepok256test2'
export const DID_P256 = 'did:plc:arborgoldenrepop256test2'
// A DID used as the subject of follows (someone else).
export const OTHER_DIDS = [
  'did:plc:ewvi7nxzyoun6zhxrhs64oiz',
  'did:plc:z72i7hdynmk6r22z27h6tvur',
  'did:plc:44ybard66vv44zksje25o7dz',
  'did:web:example.com',
]

// Fixed clock id for every TID we make (rkeys and revs).
export const CLOCK_ID = 7
// 2024-01-01T00:00:00Z in microseconds: base for record-key TIDs.
export const RKEY_BASE_US = Date.UTC(2024, 0, 1) * 1000
// 2024-06-01T00:00:00Z in microseconds: base for commit revs.
export const REV_BASE_US = Date.UTC(2024, 5, 1) * 1000

export const tidAt = (micros) => TID.fromTime(micros, CLOCK_ID).toString()
// rkey TID for record number i: spaced ~1.000003 s apart.
export const rkeyTid = (i) => tidAt(RKEY_BASE_US + i * 1_000_003)
// rev number n (0 = first commit of a repo).
export const revTid = (n) => tidAt(REV_BASE_US + n * 60_000_000)
export const isoAt = (i) =>
  new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString()

export const loadK256 = () =>
  Secp256k1Keypair.import(K256_PRIVATE_HEX, { exportable: true })
export const loadP256 = () =>
  P256Keypair.import(P256_PRIVATE_HEX, { exportable: true })

export const packageVersions = () => {
  const out = {}
  for (const name of [
    '@atproto/repo',
    '@atproto/crypto',
    '@atproto/common-web',
    '@atproto/lex-data',
    '@atproto/lex-cbor',
  ]) {
    const p = path.join(GEN_DIR, 'node_modules', name, 'package.json')
    out[name] = JSON.parse(fs.readFileSync(p, 'utf8')).version
  }
  return out
}

// ---------------------------------------------------------------------------
// Record contents

const BLOB_CACHE = new Map()
// A blob ref whose CID is the raw (0x55) sha256 CID of some fixed bytes.
export const blobRef = async (seed, mimeType, size) => {
  let ref = BLOB_CACHE.get(seed)
  if (!ref) {
    ref = await cidForRawBytes(new TextEncoder().encode(`arbor blob ${seed}`))
    BLOB_CACHE.set(seed, ref)
  }
  return { $type: 'blob', ref, mimeType, size }
}

const TEXTS = [
  'hello world',
  'Grüße aus Köln – “quotes” and ‘apostrophes’',
  '日本語のテキスト、こんにちは世界',
  'emoji: 🌳🌲🌴 family: 👨‍👩‍👧‍👦 flag: 🇳🇿',
  'Ελληνικά και русский и עברית ومرحبا',
  'combining: e\u0301 a\u0308 and zero-width\u200bjoiner',
  'line one\nline two\n\ttabbed',
  'a'.repeat(300),
]

export const postRecord = async (i, did) => {
  const text = `${TEXTS[i % TEXTS.length]} #${i}`
  const rec = {
    $type: 'app.bsky.feed.post',
    text,
    createdAt: isoAt(i),
  }
  if (i % 3 === 0) rec.langs = i % 2 === 0 ? ['en'] : ['ja', 'en']
  if (i % 4 === 1) {
    const enc = new TextEncoder()
    const start = enc.encode(text).length - enc.encode(`#${i}`).length
    rec.facets = [
      {
        index: { byteStart: start, byteEnd: enc.encode(text).length },
        features: [{ $type: 'app.bsky.richtext.facet#tag', tag: `${i}` }],
      },
    ]
  }
  if (i % 5 === 2) {
    rec.embed = {
      $type: 'app.bsky.embed.images',
      images: [
        {
          alt: `image ${i} – ünïcödé alt`,
          image: await blobRef(`img-${i}`, 'image/jpeg', 10_000 + i),
          aspectRatio: { width: 1600, height: 900 },
        },
        {
          alt: '',
          image: await blobRef(`img-${i}-b`, 'image/png', 2048),
          aspectRatio: { width: 1, height: 1 },
        },
      ],
    }
  }
  if (i % 7 === 3) {
    rec.labels = { $type: 'com.atproto.label.defs#selfLabels', values: [] }
  }
  void did
  return rec
}

export const likeRecord = async (i, subjectUri, subjectCid) => ({
  $type: 'app.bsky.feed.like',
  subject: { uri: subjectUri, cid: subjectCid },
  createdAt: isoAt(i),
})

export const followRecord = (i) => ({
  $type: 'app.bsky.graph.follow',
  subject: OTHER_DIDS[i % OTHER_DIDS.length],
  createdAt: isoAt(i),
})

export const profileRecord = async () => ({
  $type: 'app.bsky.actor.profile',
  displayName: 'Ärbor Gölden 🌳 テスト',
  description: 'Fixture repo for arbor.\nMade by the reference implementation (@atproto/repo).\n— ünïcödé, 日本語, emoji 👩‍💻',
  avatar: await blobRef('avatar', 'image/png', 4321),
  banner: await blobRef('banner', 'image/jpeg', 123456),
  createdAt: isoAt(0),
})

// Special record keys that exercise allowed characters (besides TIDs and "self").
export const SPECIAL_RKEYS = [
  'a-b_c~d:e.f',
  'Z',
  '0',
  '~',
  'x:y',
  '...',
  '_-_',
  'UPPER.lower',
]

// Builds a deterministic list of create writes with `n` records for `did`.
// Mix: profile (rkey self) first if n >= 1, then posts / likes / follows by
// index; a handful of special rkeys; likes point at earlier posts (uri + the
// reference's cidForRecord of that post).
export const buildWrites = async (n, did, opts = {}) => {
  const { specialRkeys = true, duplicateContent = false, longRkey = false } =
    opts
  const writes = []
  const posts = []
  if (n === 0) return writes
  writes.push({
    action: 'create',
    collection: 'app.bsky.actor.profile',
    rkey: 'self',
    record: await profileRecord(),
  })
  let special = 0
  for (let i = 1; writes.length < n; i++) {
    let rkey = rkeyTid(i)
    if (specialRkeys && i % 7 === 4 && special < SPECIAL_RKEYS.length) {
      rkey = SPECIAL_RKEYS[special++]
    }
    if (longRkey && i === 5) rkey = 'L' + 'long-key.'.repeat(40) + 'end'
    const kind = i % 10
    if (kind < 5 || posts.length === 0) {
      const record = await postRecord(i, did)
      writes.push({ action: 'create', collection: 'app.bsky.feed.post', rkey, record })
      posts.push({ rkey, cid: await cidForRecord(record) })
    } else if (kind < 8) {
      const p = posts[(i * 7) % posts.length]
      const record = await likeRecord(
        i,
        `at://${did}/app.bsky.feed.post/${p.rkey}`,
        p.cid,
      )
      writes.push({ action: 'create', collection: 'app.bsky.feed.like', rkey, record })
    } else {
      writes.push({
        action: 'create',
        collection: 'app.bsky.graph.follow',
        rkey,
        record: followRecord(i),
      })
    }
  }
  if (duplicateContent && writes.length >= 3) {
    // Two records with byte-identical content: same CID, one block in the CAR.
    const last = writes[writes.length - 1]
    last.collection = 'app.bsky.graph.follow'
    last.record = followRecord(999_999)
    const prev = writes[writes.length - 2]
    prev.collection = 'app.bsky.graph.follow'
    prev.record = followRecord(999_999)
  }
  return writes
}

// ---------------------------------------------------------------------------
// Repo construction and reading back

// Creates a repo with the reference's own init commit, fixed rev.
export const createRepo = async (did, keypair, writes, rev) => {
  const storage = new MemoryBlockstore()
  const commit = await Repo.formatInitCommit(storage, did, keypair, writes, rev)
  if (commit.rev !== rev) throw new Error('rev override not honoured')
  const repo = await Repo.createFromCommit(storage, commit)
  return { repo, storage, commit }
}

// Applies writes with the reference's formatCommit/applyCommit, forcing the
// new commit's rev. The reference picks the rev with TID.nextStr(prevRev)
// (wall clock + random clock id); we replace TID.nextStr for the duration of
// this call only, so everything else is the reference's own code path.
export const applyWritesAtRev = async (repo, writes, keypair, rev) => {
  const orig = TID.nextStr
  TID.nextStr = () => rev
  let commit
  try {
    commit = await repo.formatCommit(writes, keypair)
  } finally {
    TID.nextStr = orig
  }
  if (commit.rev !== rev) throw new Error('rev override not honoured')
  const next = await repo.applyCommit(commit)
  return { repo: next, commit }
}

export const exportCar = async (storage, commitCid) =>
  concatBytesAsync(getFullRepo(storage, commitCid))

export const cidStrs = (cids) => cids.map((c) => c.toString()).sort()

// MST statistics from the reference's own walk.
export const mstStats = async (mst) => {
  let nodeCount = 0
  for await (const entry of mst.walk()) if (entry.isTree()) nodeCount++
  // depth: number of MST node levels on the longest root-to-leaf path,
  // from the reference's paths() (each path = [subtrees..., leaf]).
  const paths = await mst.paths()
  let depth = nodeCount > 0 ? 1 : 0
  for (const p of paths) depth = Math.max(depth, p.length) // root + (p.length-1) subtrees
  const rootLayer = await mst.getLayer()
  return { nodeCount, depth, rootLayer }
}

export const summarizeRepo = async (repo, storage, carBytes, keypair, keyType) => {
  const leaves = await repo.data.list()
  const records = leaves.map((l) => ({ path: l.key, cid: l.value.toString() }))
  const collections = {}
  for (const l of leaves) {
    const { collection } = parseDataKey(l.key)
    collections[collection] = (collections[collection] ?? 0) + 1
  }
  const parsed = await readCar(carBytes)
  let blockCount = 0
  for (const _ of parsed.blocks.entries()) blockCount++
  const carRoots = parsed.roots.map((r) => r.toString())
  const stats = await mstStats(repo.data)
  return {
    did: repo.did,
    signingKey: keypair.did(),
    keyType,
    commitCid: repo.cid.toString(),
    dataCid: (await repo.data.getPointer()).toString(),
    rev: repo.commit.rev,
    version: repo.commit.version,
    carRoots,
    recordCount: leaves.length,
    collections,
    records,
    blockCount,
    distinctRecordCids: new Set(records.map((r) => r.cid)).size,
    mstNodeCount: stats.nodeCount,
    mstDepth: stats.depth,
    mstRootLayer: stats.rootLayer,
    carBytes: carBytes.byteLength,
  }
}

export const writeJson = (file, obj) => {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, JSON.stringify(obj, null, 2) + '\n')
}
export const writeBytes = (file, bytes) => {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, bytes)
}

export { MST, Repo, MemoryBlockstore }
