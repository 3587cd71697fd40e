// End-to-end check of what apps need from `arbor pds serve`, with the
// official client (@atproto/api): preferences, the AppView proxy (the Go
// test runs a stand-in AppView that checks each request's service-auth
// JWT against the account's DID document), app passwords and their
// limits, session refresh reuse, and account deletion with the token from
// the mail log. Usage: node app.mjs PDS_URL APPVIEW_DID MAIL_LOG.
import { readFileSync } from 'node:fs'
import { AtpAgent } from '@atproto/api'
import { assert, done, expectError, step } from './steps.mjs'

const [pdsURL, appViewDID, mailLog] = process.argv.slice(2)
if (!pdsURL || !appViewDID || !mailLog) {
  console.error('usage: node app.mjs PDS_URL APPVIEW_DID MAIL_LOG')
  process.exit(2)
}

function jti(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()).jti
}
function lastMail(subject) {
  const lines = readFileSync(mailLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l).mail)
  const m = lines.filter((l) => l.subject === subject).pop()
  assert(m && m.token, `no "${subject}" mail in ${mailLog}`)
  return m
}

const suffix = Math.random().toString(36).slice(2, 8)
const handle = `app${suffix}.test`
const email = `${handle}@example.com`
const password = `pw-${suffix}`
const agent = new AtpAgent({ service: pdsURL })
let did

await step('createAccount', async () => {
  const r = await agent.createAccount({ handle, email, password })
  did = r.data.did
})

await step('preferences: put, get, the app.bsky namespace only', async () => {
  await agent.setAdultContentEnabled(true)
  await agent.setContentLabelPref('nsfw', 'hide')
  await agent.setPersonalDetails({ birthDate: '1990-05-17T00:00:00.000Z' })
  const prefs = await agent.getPreferences()
  assert(prefs.moderationPrefs.adultContentEnabled === true, `adultContentEnabled: ${JSON.stringify(prefs.moderationPrefs)}`)
  assert(prefs.moderationPrefs.labels.nsfw === 'hide', `labels: ${JSON.stringify(prefs.moderationPrefs.labels)}`)
  assert(prefs.birthDate && prefs.birthDate.toISOString().startsWith('1990-05-17'), `birthDate: ${prefs.birthDate}`)
  await expectError(agent.app.bsky.actor.putPreferences({ preferences: [{ $type: 'com.example.pref' }] }), 400, 'InvalidRequest')
})

await step('the AppView proxy: getTimeline answered by the AppView', async () => {
  const r = await agent.app.bsky.feed.getTimeline({ limit: 3 })
  assert(r.data.cursor === 'from-the-appview' && Array.isArray(r.data.feed), `getTimeline: ${JSON.stringify(r.data)}`)
  const viaHeader = agent.withProxy('bsky_appview', appViewDID)
  const r2 = await viaHeader.app.bsky.feed.getTimeline({ limit: 1 })
  assert(r2.data.cursor === 'from-the-appview', `getTimeline with atproto-proxy: ${JSON.stringify(r2.data)}`)
})

let appAgent, appPassword
await step('app passwords: create, log in, write, list', async () => {
  const r = await agent.com.atproto.server.createAppPassword({ name: 'my-bot' })
  appPassword = r.data.password
  appAgent = new AtpAgent({ service: pdsURL })
  await appAgent.login({ identifier: handle, password: appPassword })
  await appAgent.post({ text: 'posted with an app password' })
  const list = await appAgent.com.atproto.server.listAppPasswords()
  assert(list.data.passwords.length === 1 && list.data.passwords[0].name === 'my-bot', `listAppPasswords: ${JSON.stringify(list.data)}`)
})

await step('app passwords: account-level actions refused', async () => {
  await expectError(appAgent.com.atproto.server.createAppPassword({ name: 'x' }), 400, 'InvalidToken')
  await expectError(appAgent.com.atproto.server.requestAccountDelete(), 400, 'InvalidToken')
  await expectError(appAgent.com.atproto.server.requestEmailUpdate(), 400, 'InvalidToken')
  await expectError(appAgent.com.atproto.identity.signPlcOperation({}), 400, 'InvalidToken')
})

await step('session refresh: a refresh token works again in its grace period', async () => {
  const s = await new AtpAgent({ service: pdsURL }).login({ identifier: handle, password })
  const refresh = s.data.refreshJwt
  const call = () => fetch(`${pdsURL}/xrpc/com.atproto.server.refreshSession`, { method: 'POST', headers: { authorization: `Bearer ${refresh}` } })
  const a = await call()
  const b = await call()
  assert(a.status === 200 && b.status === 200, `refresh twice: ${a.status} ${b.status}`)
  const ja = jti((await a.json()).refreshJwt)
  const jb = jti((await b.json()).refreshJwt)
  assert(ja === jb && ja !== jti(refresh), `successor ids ${ja} ${jb} (first ${jti(refresh)})`)
  // The client's own refresh (after ExpiredToken) keeps working too.
  await agent.sessionManager.refreshSession()
  await agent.getProfile({ actor: did }).catch(() => {}) // proxied: the stand-in answers an error
  await agent.com.atproto.server.getSession()
})

await step('account deletion with the mailed token', async () => {
  await agent.com.atproto.server.requestAccountDelete()
  const m = lastMail('Account Deletion Requested')
  assert(m.to === email, `mail to ${m.to}`)
  await expectError(agent.com.atproto.server.deleteAccount({ did, password: appPassword, token: m.token }), 401, 'AuthenticationRequired')
  await agent.com.atproto.server.deleteAccount({ did, password, token: m.token })
  await expectError(agent.com.atproto.sync.getLatestCommit({ did }), 400, 'RepoNotFound')
  await expectError(new AtpAgent({ service: pdsURL }).login({ identifier: handle, password }), 401, 'AuthenticationRequired')
})

done()
