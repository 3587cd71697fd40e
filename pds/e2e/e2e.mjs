// End-to-end check of `arbor pds serve` with the official TypeScript client
// (@atproto/api) and repository verifier (@atproto/repo), used as a new
// user would. Usage: node e2e.mjs PDS_URL PLC_URL. Exits non-zero on the
// first failed step, naming it.
import { AtpAgent } from '@atproto/api'
import { Secp256k1Keypair } from '@atproto/crypto'
import { verifyRepoCar, verifyRecords } from '@atproto/repo'

const [pdsURL, plcURL] = process.argv.slice(2)
if (!pdsURL || !plcURL) {
  console.error('usage: node e2e.mjs PDS_URL PLC_URL')
  process.exit(2)
}

let passed = 0
async function step(name, fn) {
  try {
    await fn()
    passed++
    console.log(`ok   ${name}`)
  } catch (err) {
    console.log(`FAIL ${name}: ${err && err.stack ? err.stack : err}`)
    console.log(`${passed} passed, 1 failed`)
    process.exit(1)
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg)
}
async function expectError(promise, status, name) {
  try {
    await promise
  } catch (err) {
    assert(err.status === status && err.error === name, `want ${status} ${name}, got ${err.status} ${err.error}: ${err.message}`)
    return
  }
  throw new Error(`want ${status} ${name}, the call succeeded`)
}

const suffix = Math.random().toString(36).slice(2, 8)
const handle = `e2e${suffix}.test`
const password = `pw-${suffix}`
const collection = 'app.bsky.feed.post'
const post = (text) => ({ $type: collection, text, createdAt: new Date().toISOString() })

const agent = new AtpAgent({ service: pdsURL })
let did

await step('describeServer', async () => {
  const res = await agent.com.atproto.server.describeServer()
  assert(res.data.availableUserDomains.includes('.test'), `domains ${res.data.availableUserDomains}`)
})

await step('createAccount', async () => {
  const res = await agent.createAccount({ handle, email: `${suffix}@example.com`, password })
  did = res.data.did
  assert(did.startsWith('did:plc:'), `did ${did}`)
  assert(agent.session && agent.session.accessJwt, 'no session after createAccount')
})

const user = new AtpAgent({ service: pdsURL })
await step('login', async () => {
  await user.login({ identifier: handle, password })
  assert(user.session.did === did, `login gave ${user.session.did}`)
  await expectError(new AtpAgent({ service: pdsURL }).login({ identifier: handle, password: 'wrong' }), 401, 'AuthenticationRequired')
})

const written = new Map()
await step('write records', async () => {
  for (let i = 0; i < 12; i++) {
    const res = await user.com.atproto.repo.createRecord({ repo: did, collection, record: post(`post ${i}`) })
    written.set(res.data.uri.split('/').pop(), res.data.cid)
  }
  assert(written.size === 12, `${written.size} distinct records`)
})

await step('page through listRecords both ways', async () => {
  for (const reverse of [false, true]) {
    const seen = []
    let cursor
    for (let page = 0; page < 10; page++) {
      const res = await user.com.atproto.repo.listRecords({ repo: did, collection, limit: 5, cursor, reverse })
      for (const r of res.data.records) {
        seen.push(r.uri.split('/').pop())
        assert(written.get(r.uri.split('/').pop()) === r.cid, `cid of ${r.uri}`)
      }
      cursor = res.data.cursor
      if (!cursor) break
    }
    const want = [...written.keys()].sort()
    if (!reverse) want.reverse()
    assert(JSON.stringify(seen) === JSON.stringify(want), `reverse=${reverse}: paged ${seen}`)
  }
})

const [rkey, firstCid] = [...written.entries()][0]
let currentCid
await step('swap', async () => {
  const res = await user.com.atproto.repo.putRecord({ repo: did, collection, rkey, record: post('edited'), swapRecord: firstCid })
  currentCid = res.data.cid
  await expectError(
    user.com.atproto.repo.putRecord({ repo: did, collection, rkey, record: post('stale'), swapRecord: firstCid }),
    400, 'InvalidSwap')
  const got = await user.com.atproto.repo.getRecord({ repo: did, collection, rkey })
  assert(got.data.cid === currentCid && got.data.value.text === 'edited', 'a stale swap changed the record')
})

await step('delete', async () => {
  await user.com.atproto.repo.deleteRecord({ repo: did, collection, rkey })
  written.delete(rkey)
  await expectError(user.com.atproto.repo.getRecord({ repo: did, collection, rkey }), 400, 'RecordNotFound')
})

await step('writes without a session or to another repo are refused', async () => {
  await expectError(new AtpAgent({ service: pdsURL }).com.atproto.repo.createRecord({ repo: did, collection, record: post('x') }), 401, 'AuthenticationRequired')
  const other = new AtpAgent({ service: pdsURL })
  await other.createAccount({ handle: `o${suffix}.test`, password })
  await expectError(other.com.atproto.repo.createRecord({ repo: did, collection, record: post('x') }), 401, 'AuthenticationRequired')
  await expectError(user.com.atproto.repo.createRecord({ repo: did, collection: 'not an nsid', record: post('x') }), 400, 'InvalidRequest')
})

const blobBytes = new Uint8Array(2048).map((_, i) => (i * 7) & 0xff)
await step('upload a blob and read it back', async () => {
  const up = await user.uploadBlob(blobBytes, { encoding: 'image/png' })
  const ref = up.data.blob
  assert(ref.mimeType === 'image/png' && ref.size === blobBytes.length, `blob ${JSON.stringify(ref)}`)
  const res = await user.com.atproto.repo.createRecord({
    repo: did, collection,
    record: { ...post('with image'), embed: { $type: 'app.bsky.embed.images', images: [{ image: ref, alt: 'pattern' }] } },
  })
  written.set(res.data.uri.split('/').pop(), res.data.cid)
  const got = await user.com.atproto.sync.getBlob({ did, cid: ref.ref.toString() })
  assert(Buffer.from(got.data).equals(Buffer.from(blobBytes)), 'blob bytes differ')
})

let signingKey
await step('resolve the DID document from the embedded PLC', async () => {
  const res = await fetch(`${plcURL}/${did}`)
  assert(res.ok, `GET ${plcURL}/${did}: ${res.status}`)
  const doc = await res.json()
  assert(doc.id === did, `document for ${doc.id}`)
  const vm = doc.verificationMethod.find((m) => m.id === '#atproto' || m.id === `${did}#atproto`)
  assert(vm, 'no #atproto verification method')
  signingKey = `did:key:${vm.publicKeyMultibase}`
  const pds = doc.service.find((s) => s.id === '#atproto_pds')
  assert(pds && pds.serviceEndpoint === pdsURL, `PDS endpoint ${pds && pds.serviceEndpoint}`)
})

await step('getRepo verifies with @atproto/repo against the DID document', async () => {
  const res = await user.com.atproto.sync.getRepo({ did })
  const verified = await verifyRepoCar(res.data, did, signingKey)
  const got = new Map(verified.creates.filter((c) => c.collection === collection).map((c) => [c.rkey, c.cid.toString()]))
  assert(got.size === written.size, `repo holds ${got.size} posts, wrote ${written.size}`)
  for (const [k, c] of written) assert(got.get(k) === c, `record ${k}: repo has ${got.get(k)}, server said ${c}`)
  // Another key must not verify it.
  const stranger = await Secp256k1Keypair.create()
  let refused = ''
  try {
    await verifyRepoCar(res.data, did, stranger.did())
  } catch (err) {
    refused = String(err.message)
  }
  assert(/signature/i.test(refused), `the repo with another key: ${refused || 'verified'}`)
})

await step('sync.getRecord proves a record', async () => {
  const [k, c] = [...written.entries()][1]
  const res = await user.com.atproto.sync.getRecord({ did, collection, rkey: k })
  const claims = await verifyRecords(res.data, did, signingKey)
  const claim = claims.find((x) => x.collection === collection && x.rkey === k)
  assert(claim && claim.record.text !== undefined, `proof for ${k}: ${JSON.stringify(claims)}`)
  const head = await user.com.atproto.sync.getLatestCommit({ did })
  assert(head.data.cid && head.data.rev, 'getLatestCommit')
  void c
})

await step('session refresh', async () => {
  const res = await user.com.atproto.server.refreshSession(undefined, { headers: { authorization: `Bearer ${user.session.refreshJwt}` } })
  assert(res.data.did === did && res.data.accessJwt, 'refreshSession')
})

console.log(`${passed} passed, 0 failed`)
