#!/usr/bin/env node
// Cross-checks arbor create/rewrite with the reference TypeScript verifier.
// Run through check.sh (which builds arbor); see README.md.
//
//   node check.mjs ARBOR_BINARY
//
// For every case of cases.json: run arbor (create or rewrite) into a
// temporary directory, then ../gen/verify-car.mjs on the result with the
// did:key of the case's key and its DID. Writes results.json; exits 1 when
// any case fails.
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '..', '..')
const arbor = path.resolve(process.argv[2] ?? '')
if (!process.argv[2]) {
  console.error('usage: node check.mjs ARBOR_BINARY')
  process.exit(2)
}
const cases = JSON.parse(fs.readFileSync(path.join(here, 'cases.json'), 'utf8'))
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'arbor-create-check-'))
const sh = (args) => execFileSync(arbor, args, { cwd: root, encoding: 'utf8' })

const results = []
let failed = 0
for (const c of cases) {
  const out = path.join(tmp, c.name + '.car')
  const key = JSON.parse(sh(['key', 'inspect', c.key, '--json']))
  let args
  if (c.kind === 'create') {
    let input = c.input
    if (c.export) {
      input = path.join(tmp, c.name + '-export')
      sh(['export', c.export, input])
    }
    args = ['create', '--did', c.did, '--key', c.key, '--rev', c.rev, '--json', out, input]
  } else {
    args = ['rewrite', c.input, '-o', out, '--key', c.key, '--rev', c.rev, '--json']
    if (c.did) args.push('--did', c.did)
    for (const x of c.dropCollections ?? []) args.push('--drop-collection', x)
    for (const x of c.keepCollections ?? []) args.push('--keep-collection', x)
    if (c.compact) args.push('--compact')
    if (c.repair) args.push('--repair')
  }
  const arborOut = JSON.parse(sh(args))
  const did = c.kind === 'create' ? arborOut.did : arborOut.newDid
  // The verifier's output goes to a file: it exits right after writing,
  // which can cut a large answer short on a pipe.
  const refOut = path.join(tmp, c.name + '.verify.json')
  const fd = fs.openSync(refOut, 'w')
  spawnSync('node', [path.join(here, '..', 'gen', 'verify-car.mjs'), out, key.didKey, did], { stdio: ['ignore', fd, 'inherit'] })
  fs.closeSync(fd)
  const v = JSON.parse(fs.readFileSync(refOut, 'utf8'))
  const arborCommit = c.kind === 'create' ? arborOut.commit : arborOut.newCommit
  const arborData = c.kind === 'create' ? arborOut.data : arborOut.newData
  const arborRecords = c.kind === 'create' ? arborOut.records : arborOut.recordsOut
  const agree = v.ok && v.commitCid === arborCommit && v.dataCid === arborData && v.recordCount === arborRecords
  if (!agree) failed++
  results.push({
    name: c.name,
    arbor: { commitCid: arborCommit, dataCid: arborData, records: arborRecords, did, didKey: key.didKey, bytes: fs.statSync(out).size },
    reference: {
      ok: v.ok,
      verifierOk: v.verifierOk,
      mstCanonical: v.mstCanonical,
      commitCid: v.commitCid,
      dataCid: v.dataCid,
      did: v.did,
      rev: v.rev,
      recordCount: v.recordCount,
      error: v.error,
    },
    agree,
  })
  console.error(`${agree ? 'ok  ' : 'FAIL'} ${c.name}: ${v.ok ? 'reference verifier accepts' : 'reference verifier rejects: ' + v.error}`)
}
const repoPkg = JSON.parse(fs.readFileSync(path.join(here, '..', 'gen', 'node_modules', '@atproto', 'repo', 'package.json'), 'utf8'))
fs.writeFileSync(
  path.join(here, 'results.json'),
  JSON.stringify({ verifier: `@atproto/repo ${repoPkg.version} via golden/gen/verify-car.mjs`, results }, null, 2) + '\n',
)
fs.rmSync(tmp, { recursive: true, force: true })
process.exit(failed ? 1 : 0)
