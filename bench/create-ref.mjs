#!/usr/bin/env node
// Builds the same repo as `arbor create` with the reference TypeScript
// implementation (@atproto/repo, from golden/gen/node_modules), for timing
// side by side in bench/create.sh.
//
//   node create-ref.mjs RECORDS.jsonl OUT.car DID
//
// Prints {records, readMs, buildMs, exportMs, totalMs, commitCid, dataCid, bytes}.
import fs from 'node:fs'
import path from 'node:path'
import readline from 'node:readline'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const req = createRequire(path.join(here, '..', 'golden', 'gen', 'package.json'))
const { MemoryBlockstore, Repo, getFullRepo, concatBytesAsync } = await import(req.resolve('@atproto/repo'))
const { Secp256k1Keypair } = await import(req.resolve('@atproto/crypto'))
const { jsonToLex } = await import(req.resolve('@atproto/lex-json'))

const [file, out, did] = process.argv.slice(2)
if (!file || !out || !did) {
  console.error('usage: node create-ref.mjs RECORDS.jsonl OUT.car DID')
  process.exit(2)
}
const t0 = performance.now()
const writes = []
const rl = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity })
for await (const line of rl) {
  if (!line.trim()) continue
  const l = JSON.parse(line)
  writes.push({ action: 'create', collection: l.collection, rkey: l.rkey, record: jsonToLex(l.record) })
}
const t1 = performance.now()
const keypair = await Secp256k1Keypair.create({ exportable: true })
const storage = new MemoryBlockstore()
const commit = await Repo.formatInitCommit(storage, did, keypair, writes, '3ktt5626c222b')
const repo = await Repo.createFromCommit(storage, commit)
const t2 = performance.now()
const car = await concatBytesAsync(getFullRepo(storage, repo.cid))
fs.writeFileSync(out, car)
const t3 = performance.now()
console.log(JSON.stringify({
  records: writes.length,
  readMs: Math.round(t1 - t0),
  buildMs: Math.round(t2 - t1),
  exportMs: Math.round(t3 - t2),
  totalMs: Math.round(t3 - t0),
  commitCid: repo.cid.toString(),
  dataCid: repo.data.pointer.toString(),
  bytes: car.length,
}))
