// End-to-end check of `arbor pds serve` with @skyware/bot, as a bot
// author would use it: log in with an app password, post, reply, like.
// Usage: node bot.mjs PDS_URL. The account and its app password are made
// with plain fetch calls (createAccount, createAppPassword); everything
// else goes through the bot. Exits non-zero on the first failed step.
import { Bot } from '@skyware/bot'
import { assert, done, step } from './steps.mjs'

const [pdsURL] = process.argv.slice(2)
if (!pdsURL) {
  console.error('usage: node bot.mjs PDS_URL')
  process.exit(2)
}

async function xrpc(method, body, token) {
  const headers = { 'content-type': 'application/json' }
  if (token) headers.authorization = `Bearer ${token}`
  const res = await fetch(`${pdsURL}/xrpc/${method}`, { method: body === undefined ? 'GET' : 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : null }
}

const suffix = Math.random().toString(36).slice(2, 8)
const handle = `bot${suffix}.test`
let account, appPassword, bot, first, reply

await step('createAccount and an app password (plain XRPC)', async () => {
  const r = await xrpc('com.atproto.server.createAccount', { handle, password: `pw-${suffix}`, email: `${handle}@example.com` })
  assert(r.status === 200, `createAccount: ${JSON.stringify(r)}`)
  account = r.body
  const p = await xrpc('com.atproto.server.createAppPassword', { name: 'skyware' }, account.accessJwt)
  assert(p.status === 200 && /^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/.test(p.body.password), `createAppPassword: ${JSON.stringify(p)}`)
  appPassword = p.body.password
})

await step('bot.login with the app password (fetches its own profile)', async () => {
  bot = new Bot({ service: pdsURL, emitEvents: false })
  await bot.login({ identifier: handle, password: appPassword })
  assert(bot.profile && bot.profile.did === account.did && bot.profile.handle === handle, `bot.profile: ${bot.profile && bot.profile.did} ${bot.profile && bot.profile.handle}`)
})

await step('bot.post', async () => {
  first = await bot.post({ text: 'hello from a bot on arbor pds' })
  assert(first.uri.startsWith(`at://${account.did}/app.bsky.feed.post/`) && first.cid, `post: ${first.uri} ${first.cid}`)
})

await step('post.reply', async () => {
  reply = await first.reply({ text: 'and a reply' })
  const r = await xrpc(`com.atproto.repo.getRecord?repo=${account.did}&collection=app.bsky.feed.post&rkey=${reply.uri.split('/').pop()}`)
  assert(r.status === 200, `getRecord of the reply: ${JSON.stringify(r)}`)
  const ref = r.body.value.reply
  assert(ref && ref.parent.uri === first.uri && ref.parent.cid === first.cid && ref.root.uri === first.uri, `reply ref: ${JSON.stringify(ref)}`)
})

await step('post.like', async () => {
  const like = await first.like()
  const r = await xrpc(`com.atproto.repo.getRecord?repo=${account.did}&collection=app.bsky.feed.like&rkey=${like.uri.split('/').pop()}`)
  assert(r.status === 200 && r.body.value.subject.uri === first.uri && r.body.value.subject.cid === first.cid, `the like record: ${JSON.stringify(r)}`)
})

await step('the bot profile counts its posts', async () => {
  const p = await bot.getProfile(account.did, { skipCache: true })
  assert(p.postsCount === 2, `postsCount ${p.postsCount}`)
})

await step('the app password session cannot make app passwords', async () => {
  const s = await xrpc('com.atproto.server.createSession', { identifier: handle, password: appPassword })
  const r = await xrpc('com.atproto.server.createAppPassword', { name: 'other' }, s.body.accessJwt)
  assert(r.status === 400 && r.body.error === 'InvalidToken', `createAppPassword with the bot's session: ${JSON.stringify(r)}`)
})

done()
