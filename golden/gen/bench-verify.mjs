#!/usr/bin/env node
// Times nothing itself: runs only the reference verifier, verifyRepoCar from
// @atproto/repo, on a CAR, for bench/verify.sh to time from outside.
//
//   node bench-verify.mjs FILE.car DIDKEY
import fs from 'node:fs'
import { verifyRepoCar } from '@atproto/repo'

const [file, didKey] = process.argv.slice(2)
const bytes = new Uint8Array(fs.readFileSync(file))
const repo = await verifyRepoCar(bytes, undefined, didKey)
let n = 0
for (const _ of repo.creates ?? []) n++
process.stdout.write(`verified ${repo.commit?.rev ?? ''} ${n} records\n`)
