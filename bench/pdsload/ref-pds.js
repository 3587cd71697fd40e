// Starts the reference PDS (npm @atproto/pds, SQLite) with the reference
// did:plc directory (@did-plc/server, in-memory database) on loopback, for
// bench/pds.sh, bench/firehose.sh and pds/e2e/reference-golden.sh
// (start_reference in bench/pdsbench.sh). Run it with Node 22.19+ from a
// directory whose node_modules has both packages (install_reference in
// bench/pdsbench.sh installs them under bench/out/refpds).
// Prints "ready URL ADMIN_PASSWORD" on stdout and runs until SIGTERM or
// SIGINT (two hours at most).
//
//   node ref-pds.js DATA_DIR PORT
'use strict'
const crypto = require('crypto')
const path = require('path')
const { PlcServer, Database } = require('@did-plc/server')

async function main() {
  const [dataDir, port] = process.argv.slice(2)
  const plc = PlcServer.create({ db: Database.mock(), port: 0 })
  const plcHttp = plc.app.listen(0, 'localhost')
  await new Promise((resolve) => plcHttp.once('listening', resolve))
  const admin = 'bench-admin'
  Object.assign(process.env, {
    PDS_PORT: String(port),
    PDS_HOSTNAME: 'localhost',
    PDS_DEV_MODE: 'true',
    PDS_DATA_DIRECTORY: dataDir,
    PDS_BLOBSTORE_DISK_LOCATION: path.join(dataDir, 'blocks'),
    PDS_DID_PLC_URL: `http://localhost:${plcHttp.address().port}`,
    PDS_JWT_SECRET: crypto.randomBytes(16).toString('hex'),
    PDS_ADMIN_PASSWORD: admin,
    PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: crypto.randomBytes(32).toString('hex'),
    PDS_SERVICE_HANDLE_DOMAINS: '.test',
    PDS_INVITE_REQUIRED: 'false',
    PDS_ACCEPTING_REPO_IMPORTS: 'true',
    PDS_MAX_REPO_IMPORT_SIZE: String(1 << 30),
    PDS_RATE_LIMITS_ENABLED: 'false',
    PDS_CRAWLERS: '',
    LOG_ENABLED: 'false',
  })
  const { PDS, envToCfg, envToSecrets, readEnv } = require('@atproto/pds')
  const env = readEnv()
  const pds = await PDS.create(envToCfg(env), envToSecrets(env))
  await pds.start()
  process.stdout.write(`ready http://localhost:${port} ${admin}\n`)
  const stop = async () => {
    await pds.destroy().catch(() => {})
    plcHttp.close()
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  setTimeout(stop, 2 * 3600 * 1000).unref()
}
main().catch((err) => { console.error(err); process.exit(1) })
