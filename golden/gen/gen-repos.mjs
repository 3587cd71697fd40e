// Builds golden repos with the reference implementation and writes
// golden/repos/<name>.car (the reference's getFullRepo export) and
// golden/repos/<name>.json (values read from the reference's own objects).
// Deterministic: fixed keys, DIDs, record keys, record contents and revs;
// signatures are RFC 6979 (deterministic) low-S ECDSA from @noble/curves.
import path from 'node:path'
import {
  DID_K256,
  DID_P256,
  GOLDEN_DIR,
  K256_PRIVATE_HEX,
  P256_PRIVATE_HEX,
  buildWrites,
  createRepo,
  exportCar,
  loadK256,
  loadP256,
  packageVersions,
  revTid,
  summarizeRepo,
  writeBytes,
  writeJson,
} from './common.mjs'
import {
  BlockMap,
  Leaf,
  MST,
  MemoryBlockstore,
  blocksToCarFile,
  signCommit,
  verifyRepoCar,
} from '@atproto/repo'

const REPOS = [
  { name: 'empty', n: 0, key: 'k256' },
  { name: 'one', n: 1, key: 'k256' },
  // includes two records with identical content (same CID, one CAR block)
  { name: 'ten', n: 10, key: 'k256', opts: { duplicateContent: true } },
  { name: 'r300', n: 300, key: 'k256', opts: { longRkey: true } },
  { name: 'r2000', n: 2000, key: 'k256' },
  { name: 'p256-50', n: 50, key: 'p256' },
]

const outDir = path.join(GOLDEN_DIR, 'repos')
const versions = packageVersions()
const index = []

for (const spec of REPOS) {
  const keypair = spec.key === 'k256' ? await loadK256() : await loadP256()
  const did = spec.key === 'k256' ? DID_K256 : DID_P256
  const rev = revTid(0)
  const writes = await buildWrites(spec.n, did, spec.opts)
  const { repo, storage } = await createRepo(did, keypair, writes, rev)
  const car = await exportCar(storage, repo.cid)

  // Self-check with the reference verifier before writing anything.
  const verified = await verifyRepoCar(car, did, keypair.did())
  if (!verified.commit.cid.equals(repo.cid)) throw new Error('verify: commit')
  if (verified.creates.length !== spec.n) throw new Error('verify: count')

  const summary = await summarizeRepo(
    repo,
    storage,
    car,
    keypair,
    spec.key === 'k256' ? 'secp256k1' : 'p256',
  )
  if (summary.recordCount !== spec.n) throw new Error('record count mismatch')
  const json = {
    name: spec.name,
    ...summary,
    signingKeyPrivateHex:
      spec.key === 'k256' ? K256_PRIVATE_HEX : P256_PRIVATE_HEX,
    generator: { script: 'golden/gen/gen-repos.mjs', packages: versions },
  }
  writeBytes(path.join(outDir, `${spec.name}.car`), car)
  writeJson(path.join(outDir, `${spec.name}.json`), json)
  index.push({
    name: spec.name,
    recordCount: json.recordCount,
    keyType: json.keyType,
    commitCid: json.commitCid,
    dataCid: json.dataCid,
    mstDepth: json.mstDepth,
    blockCount: json.blockCount,
  })
  console.log(
    `${spec.name}: records=${json.recordCount} blocks=${json.blockCount} mstNodes=${json.mstNodeCount} depth=${json.mstDepth} rootLayer=${json.mstRootLayer} commit=${json.commitCid}`,
  )
}
writeJson(path.join(outDir, 'index.json'), { repos: index, packages: versions })

// ---------------------------------------------------------------------------
// A deliberately NON-canonical repo: 20 records all put in one MST node
// (built with the reference's MST.create(entries), which does not check
// layers), correctly signed. The reference verifier (verifyRepoCar) accepts
// it; verify-car.mjs reports mstCanonical=false. arbor's verify must reject it.
{
  const keypair = await loadK256()
  const did = DID_K256
  const writes = await buildWrites(20, did)
  const storage = new MemoryBlockstore()
  const blocks = new BlockMap()
  const leaves = []
  for (const w of writes) {
    const cid = await blocks.add(w.record)
    leaves.push(new Leaf(`${w.collection}/${w.rkey}`, cid))
  }
  leaves.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  const flat = await MST.create(storage, leaves, { layer: 0 })
  const unstored = await flat.getUnstoredBlocks()
  const commit = await signCommit(
    { did, version: 3, rev: revTid(0), prev: null, data: unstored.root },
    keypair,
  )
  const carBlocks = new BlockMap()
  const commitCid = await carBlocks.add(commit)
  carBlocks.addMap(unstored.blocks)
  carBlocks.addMap(blocks)
  const car = await blocksToCarFile(commitCid, carBlocks)
  const accepted = await verifyRepoCar(car, did, keypair.did())
  const canonical = await createRepo(did, keypair, writes, revTid(0))
  const canonicalDataCid = (await canonical.repo.data.getPointer()).toString()
  if (canonicalDataCid === unstored.root.toString()) throw new Error('flat tree is canonical?')
  writeBytes(path.join(outDir, 'noncanonical-flat.car'), car)
  writeJson(path.join(outDir, 'noncanonical-flat.json'), {
    name: 'noncanonical-flat',
    note: 'NOT a valid repo: 20 records in a single MST node regardless of key-hash layers. Signed correctly. @atproto/repo verifyRepoCar accepts it (it does not check MST shape); a canonical tree of the same records has root canonicalDataCid.',
    did,
    signingKey: keypair.did(),
    keyType: 'secp256k1',
    commitCid: commitCid.toString(),
    dataCid: unstored.root.toString(),
    canonicalDataCid,
    canonicalCommitCid: canonical.repo.cid.toString(),
    rev: revTid(0),
    recordCount: accepted.creates.length,
    referenceVerifyRepoCarAccepts: true,
    mstNodeCount: 1,
    generator: { script: 'golden/gen/gen-repos.mjs', packages: versions },
  })
  console.log(`noncanonical-flat: data=${unstored.root} canonical=${canonicalDataCid}`)
}
