// Generates the golden did:plc verdicts with the reference implementation
// (@did-plc/lib, pinned in package.json). Run from this directory:
//
//   npm ci && node gen.js
//
// (node gen.js --judge < LOG.json judges one audit log instead; see the end.)
//
// Writes:
//   ../lib_cases.json      logs built and judged by @did-plc/lib itself
//   ../go_logs_verdicts.json  @did-plc/lib's verdicts on ../go_logs.json
//                          (logs built by arbor's plc package; regenerate
//                          those first with `go run ./plc/internal/gengolden`)
//
// A log is judged the way a directory builds it: every entry is replayed
// through assureValidNextOp against the entries not nullified so far (as the
// reference server's database passes them), with Date.now() fixed at the
// entry's createdAt; the operations still active are then passed to
// validateOperationLog, whose document data is recorded.
'use strict'
const fs = require('fs')
const path = require('path')
const plc = require('@did-plc/lib')
const { Secp256k1Keypair, EcdsaKeypair } = require('@atproto/crypto')
const uint8arrays = require('uint8arrays')

// P-256 group order; @did-plc/lib 0.0.4 signs P-256 with WebCrypto, which
// does not normalise S, while the directory today (and the interop vector
// log_invalid_sig_p256_high_s) accepts only low-S signatures.
const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551')
function isLowS(sig) {
  const b = uint8arrays.fromString(sig, 'base64url')
  const s = BigInt('0x' + Buffer.from(b.slice(32)).toString('hex'))
  return s <= P256_N / 2n
}
// lowS retries a P-256 signing function until the signature is low-S.
async function lowS(fn) {
  for (;;) {
    const op = await fn()
    if (isLowS(op.sig)) return op
  }
}
// highS retries until the signature is high-S (the documented divergence).
async function highS(fn) {
  for (;;) {
    const op = await fn()
    if (!isLowS(op.sig)) return op
  }
}
const { cidForCbor } = require('@atproto/common')
const { CID } = require('multiformats/cid')

const realNow = Date.now
async function atTime(ms, fn) {
  Date.now = () => ms
  try {
    return await fn()
  } finally {
    Date.now = realNow
  }
}

// judge replays an audit log; returns {valid, error, errorType, index, data, nullified, cids}
async function judge(did, log) {
  const accepted = [] // IndexedOperation[], all accepted entries
  const cids = []
  for (let i = 0; i < log.length; i++) {
    const e = log[i]
    const createdAt = new Date(e.createdAt)
    try {
      const cid = await cidForCbor(e.operation)
      cids.push(cid.toString())
      if (e.cid !== undefined && e.cid !== cid.toString()) {
        throw new Error(`cid mismatch: entry ${e.cid}, computed ${cid}`)
      }
      const active = accepted.filter((o) => !o.nullified)
      const res = await atTime(createdAt.getTime(), () =>
        plc.assureValidNextOp(did, active, e.operation),
      )
      for (const n of res.nullified) {
        for (const o of accepted) if (o.cid.equals(n)) o.nullified = true
      }
      accepted.push({ did, operation: e.operation, cid, nullified: false, createdAt })
    } catch (err) {
      return { valid: false, index: i, errorType: err.constructor.name, error: String(err.message).slice(0, 300), cids }
    }
  }
  const nullified = accepted.map((o) => o.nullified)
  for (let i = 0; i < log.length; i++) {
    if (log[i].nullified !== undefined && log[i].nullified !== nullified[i]) {
      return { valid: false, index: i, errorType: 'NullifiedMismatch', error: 'nullified flag differs from replay', cids }
    }
  }
  let data
  try {
    data = await plc.validateOperationLog(did, accepted.filter((o) => !o.nullified).map((o) => o.operation))
  } catch (err) {
    return { valid: false, index: -1, errorType: err.constructor.name, error: String(err.message).slice(0, 300), cids }
  }
  return { valid: true, data, nullified, cids }
}

const BASE = Date.parse('2024-01-01T00:00:00.000Z')
const HOUR = 3600 * 1000
const iso = (ms) => new Date(ms).toISOString()

// key material is fixed so reruns only differ in p256 signatures
async function k256(n) {
  return Secp256k1Keypair.import(Buffer.from((BigInt(n) + 5000n).toString(16).padStart(64, '0'), 'hex'))
}
async function p256() {
  return EcdsaKeypair.create()
}

function entry(did, op, cid, ms, nullified = false) {
  return { did, operation: op, cid: cid.toString(), nullified, createdAt: iso(ms) }
}

// A small in-memory directory: submit() checks with assureValidNextOp.
class Dir {
  constructor() { this.log = []; this.did = null }
  async submit(op, ms) {
    const cid = await cidForCbor(op)
    if (!this.did) this.did = await plc.didForCreateOp(op)
    const active = this.log.filter((e) => !e.nullified).map((e) => ({ ...e, cid: CID.parse(e.cid), createdAt: new Date(e.createdAt) }))
    const res = await atTime(ms, () => plc.assureValidNextOp(this.did, active, op))
    for (const n of res.nullified) for (const e of this.log) if (e.cid === n.toString()) e.nullified = true
    this.log.push(entry(this.did, op, cid, ms))
    return cid
  }
  // force appends an entry the directory would have refused
  async force(op, ms) {
    const cid = await cidForCbor(op)
    this.log.push(entry(this.did, op, cid, ms))
    return cid
  }
}

async function libCases() {
  const rec = await k256(1), main = await k256(2), other = await k256(3)
  const prec = await p256(4), pmain = await p256(5)
  const cases = []
  const add = async (name, intent, dir) => {
    const verdict = await judge(dir.did, dir.log)
    cases.push({ name, intent, did: dir.did, log: JSON.parse(JSON.stringify(dir.log)), verdict })
  }
  const genesis = async (dir, signer, keys, handle) => {
    const { op } = await plc.createOp({ signingKey: main.did(), handle, pds: 'https://pds.example.com', rotationKeys: keys, signer })
    return dir.submit(op, BASE)
  }

  // valid: updates with k256
  let d = new Dir()
  let g = await genesis(d, main, [rec.did(), main.did()], 'alice.test')
  let last = d.log.at(-1).operation
  let op = await plc.updateHandleOp(last, main, 'alice2.test'); await d.submit(op, BASE + HOUR); last = op
  op = await plc.updatePdsOp(last, main, 'https://pds2.example.com'); await d.submit(op, BASE + 2 * HOUR); last = op
  op = await plc.updateAtprotoKeyOp(last, main, other.did()); await d.submit(op, BASE + 3 * HOUR); last = op
  op = await plc.updateRotationKeysOp(last, rec, [rec.did(), other.did()]); await d.submit(op, BASE + 4 * HOUR)
  await add('lib_valid_updates_k256', 'valid', d)

  // valid: p256 keys
  d = new Dir()
  {
    const { op: gop } = await lowS(() => plc.createOp({ signingKey: pmain.did(), handle: 'p.test', pds: 'pds.example.com', rotationKeys: [prec.did(), pmain.did()], signer: pmain }).then((r) => ({ ...r, sig: r.op.sig })))
    await d.submit(gop, BASE)
    op = await lowS(() => plc.updateHandleOp(gop, prec, 'p2.test')); await d.submit(op, BASE + HOUR)
  }
  await add('lib_valid_p256', 'valid', d)

  // divergence: a high-S P-256 signature, which this old library accepts and
  // the directory's current rules (and arbor) refuse
  d = new Dir()
  {
    const { op: gop } = await highS(() => plc.createOp({ signingKey: pmain.did(), handle: 'h.test', pds: 'pds.example.com', rotationKeys: [prec.did()], signer: prec }).then((r) => ({ ...r, sig: r.op.sig })))
    await d.submit(gop, BASE)
  }
  await add('lib_p256_high_s', 'high-S signature (library accepts; current rules refuse)', d)

  // valid: legacy create genesis, then an update
  d = new Dir()
  {
    const create = await plc.deprecatedSignCreate({ type: 'create', signingKey: main.did(), recoveryKey: rec.did(), handle: 'legacy.test', service: 'https://pds.example.com', prev: null }, main)
    await d.submit(create, BASE)
    op = await plc.updateHandleOp(create, rec, 'legacy2.test'); await d.submit(op, BASE + HOUR)
  }
  await add('lib_valid_legacy_create', 'valid', d)

  // invalid: forged signature (signed by a key that is not a rotation key)
  d = new Dir()
  await genesis(d, main, [rec.did(), main.did()], 'forged.test')
  op = await plc.updateHandleOp(d.log[0].operation, other, 'evil.test'); await d.force(op, BASE + HOUR)
  await add('lib_invalid_forged_signature', 'forged signature', d)

  // invalid: signature of another operation copied over
  d = new Dir()
  await genesis(d, main, [rec.did(), main.did()], 'copied.test')
  {
    const good = await plc.updateHandleOp(d.log[0].operation, main, 'a.test')
    const tampered = { ...good, alsoKnownAs: ['at://b.test'] }
    await d.force(tampered, BASE + HOUR)
  }
  await add('lib_invalid_tampered_operation', 'forged signature', d)

  // invalid: wrong prev (names an operation not in the log)
  d = new Dir()
  await genesis(d, main, [rec.did(), main.did()], 'wrongprev.test')
  {
    const bogus = await cidForCbor({ nothing: 'here' })
    const unsigned = { ...plc.normalizeOp(d.log[0].operation), prev: bogus.toString() }
    delete unsigned.sig
    unsigned.alsoKnownAs = ['at://x.test']
    await d.force(await plc.addSignature(unsigned, main), BASE + HOUR)
  }
  await add('lib_invalid_wrong_prev', 'wrong prev', d)

  // recovery: fork from genesis with the higher-priority key, at exactly 72h
  // and at 72h + 1s after the operation it nullifies
  for (const [name, lapse, intent] of [
    ['lib_valid_recovery_at_72h', 72 * HOUR, 'valid'],
    ['lib_invalid_recovery_72h_plus_1s', 72 * HOUR + 1000, 'late recovery'],
  ]) {
    d = new Dir()
    await genesis(d, main, [rec.did(), main.did()], 'victim.test')
    const t1 = BASE + HOUR
    op = await plc.updateHandleOp(d.log[0].operation, main, 'hijacked.test'); await d.submit(op, t1)
    const recovery = await plc.updateHandleOp(d.log[0].operation, rec, 'victim.test')
    if (intent === 'valid') await d.submit(recovery, t1 + lapse)
    else { await d.force(recovery, t1 + lapse); d.log[1].nullified = true }
    await add(name, intent, d)
  }

  // invalid: nullification with the same key that signed the nullified op
  d = new Dir()
  await genesis(d, main, [rec.did(), main.did()], 'same.test')
  op = await plc.updateHandleOp(d.log[0].operation, main, 'one.test'); await d.submit(op, BASE + HOUR)
  op = await plc.updateHandleOp(d.log[0].operation, main, 'two.test'); await d.force(op, BASE + 2 * HOUR); d.log[1].nullified = true
  await add('lib_invalid_same_priority_nullification', 'same-priority nullification', d)

  // valid: tombstone as the last operation
  d = new Dir()
  g = await genesis(d, main, [rec.did(), main.did()], 'gone.test')
  op = await plc.tombstoneOp(g, main); await d.submit(op, BASE + HOUR)
  await add('lib_valid_tombstone', 'valid', d)

  // invalid: an operation after the tombstone
  {
    const t = d.log.at(-1)
    const after = { ...plc.normalizeOp(d.log[0].operation), prev: t.cid }
    delete after.sig
    await d.force(await plc.addSignature(after, main), BASE + 2 * HOUR)
  }
  await add('lib_invalid_op_after_tombstone', 'operation after tombstone', d)

  return cases
}

async function main() {
  const out = path.join(__dirname, '..')
  const cases = await libCases()
  fs.writeFileSync(path.join(out, 'lib_cases.json'), JSON.stringify(cases, null, 2) + '\n')
  const goLogsPath = path.join(out, 'go_logs.json')
  const goLogs = JSON.parse(fs.readFileSync(goLogsPath, 'utf8'))
  const verdicts = []
  for (const c of goLogs) verdicts.push({ name: c.name, did: c.did, verdict: await judge(c.did, c.log) })
  fs.writeFileSync(path.join(out, 'go_logs_verdicts.json'), JSON.stringify(verdicts, null, 2) + '\n')
  for (const c of cases) console.log(c.name.padEnd(45), c.intent.padEnd(28), c.verdict.valid ? 'valid' : `invalid (${c.verdict.errorType} at ${c.verdict.index})`)
  for (const v of verdicts) console.log(v.name.padEnd(45), ''.padEnd(28), v.verdict.valid ? 'valid' : `invalid (${v.verdict.errorType} at ${v.verdict.index}: ${v.verdict.error})`)
}

// node gen.js --judge < AUDIT_LOG.json: judge one audit log (as a
// directory's /log/audit serves it) and print the verdict as JSON; exit 1
// when it is not valid. Used by arbor's tests of logs its commands made.
async function judgeStdin() {
  const log = JSON.parse(fs.readFileSync(0, 'utf8'))
  const verdict = await judge(log[0].did, log)
  console.log(JSON.stringify(verdict))
  process.exit(verdict.valid ? 0 : 1)
}

const run = process.argv[2] === '--judge' ? judgeStdin : main
run().catch((err) => { console.error(err); process.exit(1) })
