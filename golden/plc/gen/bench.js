// Reference-library side of the did:plc export benchmark: reads an export
// stream (JSON lines of {did, operation, cid, nullified, createdAt}), groups
// it by DID and validates each DID's active operations with @did-plc/lib's
// validateOperationLog, on one core. Prints operations per second.
//
//   go run ./plc/internal/gengolden -export 2000 /tmp/export.jsonl
//   node golden/plc/gen/bench.js /tmp/export.jsonl
'use strict'
const fs = require('fs')
const plc = require('@did-plc/lib')

async function main() {
  const lines = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l.trim())
  const start = process.hrtime.bigint()
  const byDid = new Map()
  for (const l of lines) {
    const e = JSON.parse(l)
    if (!byDid.has(e.did)) byDid.set(e.did, [])
    if (!e.nullified) byDid.get(e.did).push(e.operation)
  }
  let ops = 0, bad = 0
  for (const [did, log] of byDid) {
    try {
      await plc.validateOperationLog(did, log)
    } catch (err) {
      bad++
    }
    ops += log.length
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9
  console.log(JSON.stringify({ dids: byDid.size, ops, invalid: bad, seconds: secs, opsPerSecond: Math.round(ops / secs) }))
}
main().catch((err) => { console.error(err); process.exit(1) })
