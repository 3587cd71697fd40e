// Starts the reference directory server (@did-plc/server, pinned in
// package.json) with its in-memory database on a loopback port, prints
// "listening PORT" on stdout, and runs until stdin closes or it gets
// SIGTERM. Used by commands/plc_test.go for `arbor plc history/submit`.
'use strict'
const { PlcServer, Database } = require('@did-plc/server')

async function main() {
  const server = PlcServer.create({ db: Database.mock(), port: 0 })
  const http = server.app.listen(0, '127.0.0.1')
  await new Promise((resolve) => http.once('listening', resolve))
  process.stdout.write(`listening ${http.address().port}\n`)
  const stop = () => { http.close(); process.exit(0) }
  process.stdin.on('end', stop)
  process.stdin.on('close', stop)
  process.stdin.resume()
  process.on('SIGTERM', stop)
  // never outlive a test run
  setTimeout(stop, 120000).unref()
}
main().catch((err) => { console.error(err); process.exit(1) })
