// The record-validation cases of issue 15, run through the official client
// (@atproto/api) against one PDS: every case is written with createRecord,
// putRecord and applyWrites, and the answer the client sees is printed as
// one JSON document on stdout:
//
//   {"client": "@atproto/api VERSION", "cases": [{name, method, validate,
//     ok, status, error, message, validationStatus}, ...]}
//
// status is the HTTP status, error the XRPC error name, message the error
// message with the run's own values (the accounts' DIDs, the record keys
// made here) replaced by placeholders, so two runs, or two servers, give
// comparable answers. A write that succeeds is deleted again, and every
// case uploads blobs of its own (bytes unique to the case), so no case
// depends on another. golden/pds/validation-reference.json is this
// script's output against the reference PDS (pds/e2e/reference-golden.sh);
// TestValidationMatchesReference (pds/validation_reference_test.go) runs
// it against arbor's and compares.
//
// Usage: node validation.mjs PDS_URL. The server must let anyone create an
// account with a handle under .test (no invite code).
import { readFileSync } from 'node:fs'
import { AtpAgent } from '@atproto/api'

const [pdsURL] = process.argv.slice(2)
if (!pdsURL) {
  console.error('usage: node validation.mjs PDS_URL')
  process.exit(2)
}

const POST = 'app.bsky.feed.post'
const PROFILE = 'app.bsky.actor.profile'
const UNKNOWN = 'com.example.arbor.unknown'
const createdAt = '2024-05-01T12:00:00.000Z'
// A CID that names no uploaded blob (the raw sha-256 CID of "arbor").
const absentCID = 'bafkreifynqspwysdkqfkjmgdaqi4hq7veholv5mxuyoegybyfpvocuvm3m'
const postCID = 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm'

// Record keys made here: TIDs (base32-sortable microseconds since the
// epoch, then a 10-bit clock id), one after the other.
const tidChars = '234567abcdefghijklmnopqrstuvwxyz'
let lastTID = 0n
const rkeysMade = []
function nextTID() {
  let t = BigInt(Date.now()) * 1000n
  if (t <= lastTID) t = lastTID + 1n
  lastTID = t
  let v = (t << 10n) | 7n
  let s = ''
  for (let i = 0; i < 13; i++) {
    s = tidChars[Number(v & 31n)] + s
    v >>= 5n
  }
  rkeysMade.push(s)
  return s
}

// Blobs: small real PNG and GIF files whose bytes carry a tag, so each
// case's blob is new to the server.
const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
function crc32(buf) {
  let c = 0xffffffff
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length)
  out.writeUInt32BE(data.length, 0)
  out.write(type, 4, 'latin1')
  data.copy(out, 8)
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length)
  return out
}
// zlibStored is data as a zlib stream of one stored (uncompressed) block,
// the same bytes whatever the zlib at hand.
function zlibStored(data) {
  const head = Buffer.from([0x78, 0x01, 0x01, data.length & 0xff, data.length >> 8, ~data.length & 0xff, (~data.length >> 8) & 0xff])
  let a = 1
  let b = 0
  for (const x of data) {
    a = (a + x) % 65521
    b = (b + a) % 65521
  }
  const adler = Buffer.alloc(4)
  adler.writeUInt32BE(((b << 16) | a) >>> 0)
  return Buffer.concat([head, data, adler])
}
// png is a 1x1 RGBA PNG with a tEXt chunk holding tag, zero-padded after
// its IEND to size bytes when size is given.
function png(tag, size) {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(1, 0)
  ihdr.writeUInt32BE(1, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 6 // RGBA
  const file = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('tEXt', Buffer.from(`Comment\0${tag}`, 'latin1')),
    chunk('IDAT', zlibStored(Buffer.from([0, 0x2e, 0x7d, 0x32, 0xff]))),
    chunk('IEND', Buffer.alloc(0)),
  ])
  if (size === undefined) return file
  const out = Buffer.alloc(size)
  file.copy(out)
  return out
}
// gif is a 1x1 GIF89a with a comment extension holding tag.
function gif(tag) {
  const t = Buffer.from(tag, 'latin1').subarray(0, 255)
  return Buffer.concat([
    Buffer.from('GIF89a', 'latin1'),
    Buffer.from([1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff]),
    Buffer.from([0x21, 0xfe, t.length]), t, Buffer.from([0]),
    Buffer.from([0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b]),
  ])
}

const suffix = Math.random().toString(36).slice(2, 8)
const password = `pw-${suffix}`
async function account(name) {
  const agent = new AtpAgent({ service: pdsURL })
  const res = await agent.createAccount({ handle: `${name}${suffix}.test`, email: `${name}${suffix}@example.com`, password })
  return { agent, did: res.data.did, handle: res.data.handle }
}
const user = await account('val')
const other = await account('oth')
// upload uploads bytes as who and returns the blob reference in the JSON
// form, as a client that does not use the library's BlobRef class writes it.
async function upload(who, bytes, encoding) {
  const b = (await who.agent.uploadBlob(bytes, { encoding })).data.blob
  return { $type: 'blob', ref: { $link: b.ref.toString() }, mimeType: b.mimeType, size: b.size }
}

const post = (extra = {}) => ({ $type: POST, text: 'hello', createdAt, ...extra })
const like = (subject) => ({ $type: 'app.bsky.feed.like', subject, createdAt })
const postURI = () => `at://${user.did}/${POST}/3kkbsn4v2ns2x`
const profile = (extra = {}) => ({ $type: PROFILE, displayName: 'Val', ...extra })
const avatar = (tag, bytes, encoding, change = {}) => async () => profile({ avatar: { ...(await upload(user, bytes, encoding)), ...change } })

// The cases. record(tag) builds the record (tag is unique to the case and
// method, for blobs); collection defaults to the record's $type; rkey is
// "tid" (a new TID, the default for putRecord; createRecord and
// applyWrites then let the server choose) or a fixed key.
const cases = [
  { name: 'valid post', record: () => post() },
  { name: 'valid post, 300 graphemes of 2 code points each', record: () => post({ text: 'e\u0301'.repeat(300) }) },
  { name: 'valid post with an unknown extra field', record: () => post({ arborExtra: { any: ['thing', 1] } }) },
  { name: 'missing required field (no createdAt)', record: () => ({ $type: POST, text: 'no date' }) },
  { name: 'missing required field in a nested object (reply without parent)', record: () => post({ reply: { root: { uri: postURI(), cid: postCID } } }) },
  { name: 'wrong type (text: 12345)', record: () => post({ text: 12345 }) },
  { name: 'wrong type (langs not an array)', record: () => post({ langs: 'en' }) },
  { name: 'string too long in graphemes (301)', record: () => post({ text: 'a'.repeat(301) }) },
  { name: 'string too long in UTF-8 bytes (300 graphemes, 7500 bytes)', record: () => post({ text: '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}'.repeat(300) }) },
  { name: 'array too long (4 langs, max 3)', record: () => post({ langs: ['en', 'fr', 'de', 'it'] }) },
  { name: 'bad format: language', record: () => post({ langs: ['not a language!'] }) },
  { name: 'bad format: datetime', record: () => post({ createdAt: 'yesterday' }) },
  { name: 'bad format: datetime without a time zone', record: () => post({ createdAt: '2024-05-01T12:00:00' }) },
  { name: 'valid like', record: () => like({ uri: postURI(), cid: postCID }) },
  { name: 'bad format: at-uri (like subject.uri)', record: () => like({ uri: 'not an at-uri', cid: postCID }) },
  { name: 'bad format: cid (like subject.cid)', record: () => like({ uri: postURI(), cid: 'not-a-cid' }) },
  { name: 'bad format: did (follow subject)', record: () => ({ $type: 'app.bsky.graph.follow', subject: 'not-a-did', createdAt }) },
  { name: 'valid verification', record: () => ({ $type: 'app.bsky.graph.verification', subject: other.did, handle: other.handle, displayName: 'Oth', createdAt }) },
  { name: 'bad format: handle (verification handle)', record: () => ({ $type: 'app.bsky.graph.verification', subject: other.did, handle: 'not_a handle', displayName: 'Oth', createdAt }) },
  { name: 'data model: a float', record: () => post({ arborFloat: 1.5 }) },
  { name: 'valid profile with a PNG avatar', rkey: 'self', record: (tag) => avatar(tag, png(tag), 'image/png')() },
  { name: 'post with a record key that is not a TID', rkey: 'notatid', record: () => post() },
  { name: 'profile with a record key other than self', rkey: 'notself', record: () => profile() },
  { name: 'blob of a MIME type the schema refuses (GIF avatar)', rkey: 'self', record: (tag) => avatar(tag, gif(tag), 'image/gif')() },
  { name: 'blob whose reference names another MIME type than the stored one', rkey: 'self', record: (tag) => avatar(tag, png(tag), 'image/png', { mimeType: 'image/jpeg' })() },
  { name: 'blob whose reference names another size than the stored one', rkey: 'self', record: (tag) => avatar(tag, png(tag), 'image/png', { size: 12 })() },
  { name: 'blob of exactly maxSize (1000000 bytes)', rkey: 'self', record: (tag) => avatar(tag, png(tag, 1000000), 'image/png')() },
  { name: 'blob over maxSize (1000001 bytes)', rkey: 'self', record: (tag) => avatar(tag, png(tag, 1000001), 'image/png')() },
  { name: 'blob never uploaded', rkey: 'self', record: () => profile({ avatar: { $type: 'blob', ref: { $link: absentCID }, mimeType: 'image/png', size: 100 } }) },
  { name: 'blob uploaded by another account', rkey: 'self', record: async (tag) => profile({ avatar: await upload(other, png(tag), 'image/png') }) },
  { name: 'legacy blob reference', rkey: 'self', record: () => profile({ avatar: { cid: absentCID, mimeType: 'image/png' } }) },
  { name: 'open union: member of an unknown type (post embed)', record: () => post({ embed: { $type: 'com.example.arbor.embed', anything: 1 } }) },
  { name: 'open union: member of a known type not among its refs (post embed)', record: () => post({ embed: { $type: 'app.bsky.feed.like', subject: 'not a strongRef' } }) },
  { name: 'open union: member without $type (post embed)', record: () => post({ embed: { images: [] } }) },
  { name: 'open union: listed member, invalid (external embed without title)', record: () => post({ embed: { $type: 'app.bsky.embed.external', external: { uri: 'https://example.com' } } }) },
  { name: 'non-record $type: a query (app.bsky.feed.getTimeline)', record: () => ({ $type: 'app.bsky.feed.getTimeline', createdAt }) },
  { name: 'non-record $type: a query, validate true', validate: true, record: () => ({ $type: 'app.bsky.feed.getTimeline', createdAt }) },
  { name: 'non-record $type: an object (app.bsky.embed.images)', record: () => ({ $type: 'app.bsky.embed.images', images: [] }) },
  { name: 'non-record $type: a definition in a defs document (app.bsky.actor.defs#profileView)', collection: 'app.bsky.actor.defs', record: () => ({ $type: 'app.bsky.actor.defs#profileView', did: user.did, handle: user.handle }) },
  { name: 'unknown collection, validate unset', record: () => ({ $type: UNKNOWN, n: 1 }) },
  { name: 'unknown collection, validate true', validate: true, record: () => ({ $type: UNKNOWN, n: 1 }) },
  { name: 'unknown collection, validate false', validate: false, record: () => ({ $type: UNKNOWN, n: 1 }) },
  { name: 'valid post, validate true', validate: true, record: () => post() },
  { name: 'invalid post, validate false', validate: false, record: () => post({ text: 12345 }) },
  { name: 'GIF avatar, validate false', validate: false, rkey: 'self', record: (tag) => avatar(tag, gif(tag), 'image/gif')() },
  { name: 'legacy blob reference, validate false', validate: false, rkey: 'self', record: () => profile({ avatar: { cid: absentCID, mimeType: 'image/png' } }) },
  { name: 'blob whose reference names another MIME type, validate false', validate: false, rkey: 'self', record: (tag) => avatar(tag, png(tag), 'image/png', { mimeType: 'image/jpeg' })() },
  { name: 'blob whose reference names another size, validate false', validate: false, rkey: 'self', record: (tag) => avatar(tag, png(tag), 'image/png', { size: 12 })() },
  { name: 'blob never uploaded, validate false', validate: false, rkey: 'self', record: () => profile({ avatar: { $type: 'blob', ref: { $link: absentCID }, mimeType: 'image/png', size: 100 } }) },
  { name: 'collection and $type differ', collection: POST, record: () => like({ uri: postURI(), cid: postCID }) },
  { name: 'record without $type (collection app.bsky.feed.post)', collection: POST, record: () => ({ text: 'no type', createdAt }) },
  { name: 'record whose $type is not a string', collection: POST, record: () => ({ $type: 5, text: 'x', createdAt }) },
  { name: 'record without $type, invalid for the collection', collection: POST, record: () => ({ text: 12345, createdAt }) },
  // The one closed union on the write path: applyWrites' writes.
  { name: 'closed union: a write of an unknown $type', methods: ['applyWrites'], writeType: 'com.atproto.repo.applyWrites#upsert', record: () => post() },
]

const methods = ['createRecord', 'putRecord', 'applyWrites']

async function write(method, c, tag) {
  const record = await c.record(tag)
  const collection = c.collection ?? record.$type
  const fixed = c.rkey && c.rkey !== 'tid' ? c.rkey : undefined
  const repo = user.did
  const validate = c.validate
  const api = user.agent.com.atproto.repo
  let uri, validationStatus
  if (method === 'createRecord') {
    const res = await api.createRecord({ repo, collection, rkey: fixed, record, validate })
    uri = res.data.uri
    validationStatus = res.data.validationStatus
  } else if (method === 'putRecord') {
    const res = await api.putRecord({ repo, collection, rkey: fixed ?? nextTID(), record, validate })
    uri = res.data.uri
    validationStatus = res.data.validationStatus
  } else {
    const res = await api.applyWrites({
      repo, validate,
      writes: [{ $type: c.writeType ?? 'com.atproto.repo.applyWrites#create', collection, rkey: fixed, value: record }],
    })
    uri = res.data.results[0].uri
    validationStatus = res.data.results[0].validationStatus
  }
  return { uri, validationStatus }
}

// normalize replaces the run's own values in a message.
function normalize(msg) {
  if (typeof msg !== 'string') return msg
  let out = msg.split(user.did).join('<did>').split(other.did).join('<other-did>')
  out = out.split(user.handle).join('<handle>').split(other.handle).join('<other-handle>')
  for (const k of rkeysMade) out = out.split(k).join('<rkey>')
  return out
}

const results = []
for (const c of cases) {
  for (const method of c.methods ?? methods) {
    const tag = `${c.name} / ${method}`
    const r = { name: c.name, method, validate: c.validate ?? null }
    try {
      const { uri, validationStatus } = await write(method, c, tag)
      Object.assign(r, { ok: true, status: 200, error: null, message: null, validationStatus: validationStatus ?? null })
      const [, , , collection, rkey] = uri.split('/')
      await user.agent.com.atproto.repo.deleteRecord({ repo: user.did, collection, rkey })
    } catch (err) {
      if (err.status === undefined) throw err
      Object.assign(r, { ok: false, status: err.status, error: err.error ?? null, message: normalize(err.message), validationStatus: null })
    }
    results.push(r)
  }
}

const apiVersion = JSON.parse(readFileSync(new URL('./node_modules/@atproto/api/package.json', import.meta.url))).version
process.stdout.write(JSON.stringify({ client: `@atproto/api ${apiVersion}`, cases: results }, null, 1) + '\n')
