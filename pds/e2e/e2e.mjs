// End-to-end check of `arbor pds serve` with the official TypeScript client
// (@atproto/api) and repository verifier (@atproto/repo), used as a new
// user would, and its firehose (com.atproto.sync.subscribeRepos) read with
// the platform WebSocket and decoded with @atproto/lex-cbor. Usage: node
// e2e.mjs PDS_URL PLC_URL. Exits non-zero on the first failed step, naming
// it.
import { AtpAgent } from '@atproto/api'
import { Secp256k1Keypair } from '@atproto/crypto'
import { decodeAll } from '@atproto/lex-cbor'
import { cborToLex, readCar, verifyCommitSig, verifyRepoCar, verifyRecords } from '@atproto/repo'
import { assert, done, expectError, step } from './steps.mjs'

// Node 20 has WebSocket only behind a flag (Node 22 has it by default): run
// again with it.
if (typeof WebSocket === 'undefined') {
  const { spawnSync } = await import('node:child_process')
  const r = spawnSync(process.execPath, ['--experimental-websocket', '--disable-warning=ExperimentalWarning', ...process.argv.slice(1)], { stdio: 'inherit' })
  process.exit(r.status ?? 1)
}

const [pdsURL, plcURL] = process.argv.slice(2)
if (!pdsURL || !plcURL) {
  console.error('usage: node e2e.mjs PDS_URL PLC_URL')
  process.exit(2)
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

// What the reference PDS answers: validationStatus "valid" / "unknown" /
// absent by the validate flag; InvalidRequest "Invalid TYPE record: ..."
// for a record that breaks its schema, blob constraints (accept, maxSize)
// included; BlobNotFound for a blob the account did not upload. The
// answers to many more cases are compared with the reference's own by
// TestValidationMatchesReference (validation.mjs).
await step('writes are validated as the reference does', async () => {
  const create = async (record, extra = {}) => {
    const res = await user.com.atproto.repo.createRecord({ repo: did, collection: record.$type, record, ...extra })
    if (record.$type === collection) written.set(res.data.uri.split('/').pop(), res.data.cid)
    return res
  }
  let res = await create(post('valid'))
  assert(res.data.validationStatus === 'valid', `valid post: ${res.data.validationStatus}`)
  res = await create({ $type: 'com.example.e2e', n: 1 })
  assert(res.data.validationStatus === 'unknown', `unknown type: ${res.data.validationStatus}`)
  res = await create({ $type: collection, text: 12345 }, { validate: false })
  assert(res.data.validationStatus === undefined, `validate false: ${res.data.validationStatus}`)
  try {
    await create({ $type: collection, text: 12345, createdAt: new Date().toISOString() })
    throw new Error('an invalid post was accepted')
  } catch (err) {
    assert(err.status === 400 && err.error === 'InvalidRequest' && err.message.startsWith(`Invalid ${collection} record: $.record.text`), `invalid post: ${err.status} ${err.error} ${err.message}`)
  }
  await expectError(create({ $type: collection, text: 'no date' }), 400, 'InvalidRequest')
  await expectError(create({ $type: 'com.example.e2e' }, { validate: true }), 400, 'InvalidRequest')
  const missing = { $type: 'blob', ref: { $link: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy' }, mimeType: 'image/png', size: 10 }
  await expectError(create({ ...post('x'), embed: { $type: 'app.bsky.embed.images', images: [{ image: missing, alt: '' }] } }), 400, 'BlobNotFound')
  const gif = (await user.uploadBlob(new Uint8Array([71, 73, 70, 56, 57, 97, 1, 0, 1, 0]), { encoding: 'image/gif' })).data.blob
  await expectError(user.com.atproto.repo.putRecord({ repo: did, collection: 'app.bsky.actor.profile', rkey: 'self', record: { $type: 'app.bsky.actor.profile', avatar: gif } }), 400, 'InvalidRequest')
  const big = (await user.uploadBlob(new Uint8Array(1000001), { encoding: 'image/png' })).data.blob
  await expectError(user.com.atproto.repo.putRecord({ repo: did, collection: 'app.bsky.actor.profile', rkey: 'self', record: { $type: 'app.bsky.actor.profile', avatar: big } }), 400, 'InvalidRequest')
  const aw = await user.com.atproto.repo.applyWrites({ repo: did, writes: [
    { $type: 'com.atproto.repo.applyWrites#create', collection, value: post('batch') },
    { $type: 'com.atproto.repo.applyWrites#create', collection: 'com.example.e2e', value: { $type: 'com.example.e2e' } },
  ] })
  assert(aw.data.results[0].validationStatus === 'valid' && aw.data.results[1].validationStatus === 'unknown', `applyWrites ${JSON.stringify(aw.data.results)}`)
  written.set(aw.data.results[0].uri.split('/').pop(), aw.data.results[0].cid)
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

// openFirehose subscribes to the server's firehose; frames are decoded as
// {header, body} pairs (two DAG-CBOR objects back to back).
function openFirehose(cursor) {
  const q = cursor === undefined ? '' : `?cursor=${cursor}`
  const ws = new WebSocket(`${pdsURL.replace(/^http/, 'ws')}/xrpc/com.atproto.sync.subscribeRepos${q}`)
  ws.binaryType = 'arraybuffer'
  const frames = []
  let wake = () => {}
  let closed = false
  ws.onmessage = (e) => {
    const parts = [...decodeAll(new Uint8Array(e.data))]
    if (parts.length !== 2) throw new Error(`frame of ${parts.length} objects`)
    frames.push({ header: parts[0], body: parts[1] })
    wake()
  }
  ws.onclose = () => { closed = true; wake() }
  ws.onerror = () => { closed = true; wake() }
  const waitFor = async (what, pred, ms = 10000) => {
    const deadline = Date.now() + ms
    for (;;) {
      const f = frames.find(pred)
      if (f) return f
      if (closed) throw new Error(`firehose closed before ${what}`)
      if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms (${frames.length} frames)`)
      await new Promise((res) => { wake = res; setTimeout(res, 100) })
    }
  }
  return { ws, frames, waitFor, isClosed: () => closed }
}

let liveCommit // the #commit frame of the firehose write
// A post's record key is a TID (its schema's key type).
const firehoseKey = '3kfirehose22a'
await step('subscribeRepos: a write gives a #commit that verifies against the DID document', async () => {
  const fh = openFirehose(0)
  try {
    const before = await user.com.atproto.sync.getLatestCommit({ did })
    const res = await user.com.atproto.repo.createRecord({ repo: did, collection, rkey: firehoseKey, record: post('on the firehose') })
    const path = `${collection}/${firehoseKey}`
    const frame = await fh.waitFor('the #commit of the write', (f) =>
      f.header.t === '#commit' && f.body.repo === did && f.body.ops.some((o) => o.path === path))
    liveCommit = frame
    const { header, body } = frame
    assert(header.op === 1, `header ${JSON.stringify(header)}`)
    const head = await user.com.atproto.sync.getLatestCommit({ did })
    assert(body.rev === head.data.rev && body.commit.toString() === head.data.cid, `rev ${body.rev} commit ${body.commit}, head ${head.data.rev} ${head.data.cid}`)
    assert(body.since === before.data.rev, `since ${body.since}, previous rev ${before.data.rev}`)
    assert(body.prevData, 'no prevData')
    assert(typeof body.seq === 'number' && body.seq > 0, `seq ${body.seq}`)
    assert(body.ops.length === 1, `${body.ops.length} ops`)
    const op = body.ops[0]
    assert(op.action === 'create' && op.cid.toString() === res.data.cid && op.prev === undefined, `op ${JSON.stringify(op)}`)
    const car = await readCar(body.blocks)
    assert(car.roots.length === 1 && car.roots[0].toString() === body.commit.toString(), `CAR roots ${car.roots}`)
    const rec = car.blocks.get(op.cid)
    assert(rec, 'record block missing from the frame')
    assert(cborToLex(rec).text === 'on the firehose', 'record block content')
    const commit = cborToLex(car.blocks.get(body.commit))
    assert(commit.did === did && commit.rev === body.rev && commit.data.toString() !== body.prevData.toString(), 'commit block')
    assert(await verifyCommitSig(commit, signingKey), 'commit signature does not verify with the DID document key')
    const stranger = await Secp256k1Keypair.create()
    assert(!(await verifyCommitSig(commit, stranger.did())), 'commit signature verifies with a stranger key')
    // An update carries prev.
    const upd = await user.com.atproto.repo.putRecord({ repo: did, collection, rkey: firehoseKey, record: post('edited on the firehose') })
    const u = await fh.waitFor('the #commit of the update', (f) =>
      f.header.t === '#commit' && f.body.ops.some((o) => o.path === path && o.action === 'update'))
    assert(u.body.ops[0].cid.toString() === upd.data.cid && u.body.ops[0].prev.toString() === res.data.cid, `update op ${JSON.stringify(u.body.ops[0])}`)
    assert(u.body.since === body.rev && u.body.seq > body.seq, 'update does not follow the create')
  } finally {
    fh.ws.close()
  }
})

await step('subscribeRepos: replay from an earlier cursor, then a future cursor is refused', async () => {
  const fh = openFirehose(liveCommit.body.seq - 1)
  try {
    const f = await fh.waitFor('the replayed #commit', (f) => f.body.seq === liveCommit.body.seq)
    assert(fh.frames[0] === f, `first replayed frame has seq ${fh.frames[0].body.seq}, want ${liveCommit.body.seq}`)
    assert(f.body.commit.toString() === liveCommit.body.commit.toString() && f.body.rev === liveCommit.body.rev, 'replayed commit differs')
    await fh.waitFor('the next event', (f) => f.body.seq === liveCommit.body.seq + 1)
    const seqs = fh.frames.map((f) => f.body.seq)
    for (let i = 1; i < seqs.length; i++) assert(seqs[i] === seqs[i - 1] + 1, `seq ${seqs[i]} after ${seqs[i - 1]}`)
  } finally {
    fh.ws.close()
  }
  const future = openFirehose(liveCommit.body.seq + 100000)
  const err = await future.waitFor('the FutureCursor error frame', (f) => f.header.op === -1)
  assert(err.body.error === 'FutureCursor', `error frame ${JSON.stringify(err.body)}`)
  future.ws.close()
})

await step('session refresh', async () => {
  const res = await user.com.atproto.server.refreshSession(undefined, { headers: { authorization: `Bearer ${user.session.refreshJwt}` } })
  assert(res.data.did === did && res.data.accessJwt, 'refreshSession')
})

done()
