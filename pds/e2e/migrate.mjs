// Account migration between two arbor PDSes with the official TypeScript
// client (@atproto/api), step by step as Bluesky's account-migration guide
// does it, with a rotation key the user holds put in front of the new
// PDS's. Usage: node migrate.mjs OLD_URL NEW_URL PLC_URL MAIL_LOG HANDLE
// PASSWORD. The PLC token is read from the old server's mail log (JSON
// lines). Exits non-zero on the first failed step, naming it; prints the
// DID and the user's key on success.
import { readFileSync } from 'node:fs'
import { AtpAgent } from '@atproto/api'
import { Secp256k1Keypair } from '@atproto/crypto'

const [oldURL, newURL, plcURL, mailLog, handle, password] = process.argv.slice(2)
if (!password) {
  console.error('usage: node migrate.mjs OLD_URL NEW_URL PLC_URL MAIL_LOG HANDLE PASSWORD')
  process.exit(2)
}
async function step(name, fn) {
  try {
    const v = await fn()
    console.log(`ok   ${name}`)
    return v
  } catch (err) {
    console.log(`FAIL ${name}: ${err && err.stack ? err.stack : err}`)
    process.exit(1)
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg)
}
function mailLines() {
  try {
    return readFileSync(mailLog, 'utf8').trim().split('\n').filter((l) => l)
  } catch {
    return []
  }
}
// newToken waits for a PLC operation mail after the first `before` lines
// of the log. The log is copied to the file every 50 ms, so a mail sent
// just before the count may still come after it: only a mail with the PLC
// subject is taken.
async function newToken(before) {
  for (let i = 0; i < 100; i++) {
    const mails = mailLines().slice(before).map((l) => JSON.parse(l).mail)
    const plc = mails.filter((m) => m.subject === 'PLC Update Operation Requested')
    if (plc.length > 0) return plc[plc.length - 1].token
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('no PLC token mailed')
}

const oldAgent = new AtpAgent({ service: oldURL })
const newAgent = new AtpAgent({ service: newURL })
const recoveryKey = await Secp256k1Keypair.create({ exportable: true })

await step('log in to the old PDS', () => oldAgent.login({ identifier: handle, password }))
const did = oldAgent.session.did
const email = (await oldAgent.com.atproto.server.getSession()).data.email
const serverDid = await step('describe the new PDS', async () => (await newAgent.com.atproto.server.describeServer()).data.did)
const serviceJwt = await step('getServiceAuth from the old PDS', async () =>
  (await oldAgent.com.atproto.server.getServiceAuth({ aud: serverDid, lxm: 'com.atproto.server.createAccount' })).data.token)
await step('createAccount on the new PDS with the DID', () =>
  newAgent.com.atproto.server.createAccount(
    { handle, email, password, did },
    { headers: { authorization: `Bearer ${serviceJwt}` }, encoding: 'application/json' },
  ))
await step('log in to the new PDS', () => newAgent.login({ identifier: did, password }))
await step('the new account starts deactivated', async () => {
  const st = (await newAgent.com.atproto.server.checkAccountStatus()).data
  assert(st.activated === false && st.validDid === false, JSON.stringify(st))
})
await step('importRepo', async () => {
  const repo = await oldAgent.com.atproto.sync.getRepo({ did })
  await newAgent.com.atproto.repo.importRepo(repo.data, { encoding: 'application/vnd.ipld.car' })
})
await step('copy the blobs', async () => {
  let cursor
  do {
    const page = await oldAgent.com.atproto.sync.listBlobs({ did, cursor, limit: 100 })
    for (const cid of page.data.cids) {
      const blob = await oldAgent.com.atproto.sync.getBlob({ did, cid })
      await newAgent.com.atproto.repo.uploadBlob(blob.data, { encoding: blob.headers['content-type'] })
    }
    cursor = page.data.cursor
  } while (cursor)
  const missing = (await newAgent.com.atproto.repo.listMissingBlobs({})).data.blobs
  assert(missing.length === 0, `missing blobs: ${JSON.stringify(missing)}`)
})
await step('copy the preferences', async () => {
  const prefs = await oldAgent.app.bsky.actor.getPreferences()
  assert(prefs.data.preferences.length > 0, 'the old PDS has no preferences')
  await newAgent.app.bsky.actor.putPreferences(prefs.data)
})
const mailsBefore = mailLines().length
await step('requestPlcOperationSignature', () => oldAgent.com.atproto.identity.requestPlcOperationSignature())
const operation = await step('signPlcOperation with the mailed token and the user key first', async () => {
  const creds = (await newAgent.com.atproto.identity.getRecommendedDidCredentials()).data
  const rotationKeys = [recoveryKey.did(), ...(creds.rotationKeys ?? [])]
  return (await oldAgent.com.atproto.identity.signPlcOperation({ token: await newToken(mailsBefore), ...creds, rotationKeys })).data.operation
})
await step('submitPlcOperation', () => newAgent.com.atproto.identity.submitPlcOperation({ operation }))
await step('activateAccount (new)', () => newAgent.com.atproto.server.activateAccount())
await step('deactivateAccount (old)', () => oldAgent.com.atproto.server.deactivateAccount({}))
await step('the DID document names the new PDS, its key and the user key first', async () => {
  const data = await (await fetch(`${plcURL}/${did}/data`)).json()
  const creds = (await newAgent.com.atproto.identity.getRecommendedDidCredentials()).data
  assert(data.services.atproto_pds.endpoint === newURL, JSON.stringify(data.services))
  assert(data.verificationMethods.atproto === creds.verificationMethods.atproto, 'signing key')
  assert(data.rotationKeys[0] === recoveryKey.did(), JSON.stringify(data.rotationKeys))
})
await step('the new PDS says active, the old deactivated, with the same records', async () => {
  const n = (await newAgent.com.atproto.server.checkAccountStatus()).data
  const o = (await oldAgent.com.atproto.server.checkAccountStatus()).data
  assert(n.activated && n.validDid && !o.activated, JSON.stringify({ n, o }))
  assert(n.indexedRecords === o.indexedRecords && n.expectedBlobs === n.importedBlobs, JSON.stringify({ n, o }))
})
await step('the old PDS refuses writes', async () => {
  try {
    await oldAgent.com.atproto.repo.createRecord({ repo: did, collection: 'app.bsky.feed.post', record: { $type: 'app.bsky.feed.post', text: 'late', createdAt: new Date().toISOString() } })
  } catch (err) {
    assert(err.error === 'AccountDeactivated', `${err.status} ${err.error}`)
    return
  }
  throw new Error('the old PDS took a write')
})
await step('the new PDS takes writes', () =>
  newAgent.com.atproto.repo.createRecord({ repo: did, collection: 'app.bsky.feed.post', record: { $type: 'app.bsky.feed.post', text: 'moved', createdAt: new Date().toISOString() } }))
console.log(`migrated ${did}`)
