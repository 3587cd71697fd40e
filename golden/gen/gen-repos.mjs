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
import { verifyRepoCar } from '@atproto/repo'

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
