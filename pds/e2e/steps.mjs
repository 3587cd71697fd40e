// The step runner the end-to-end scripts share: each step prints "ok" or
// "FAIL" with the error (and its cause), and the first failure exits 1.
let passed = 0

export async function step(name, fn) {
  try {
    await fn()
    passed++
    console.log(`ok   ${name}`)
  } catch (err) {
    const cause = err && err.cause ? `\ncause: ${err.cause.stack || JSON.stringify(err.cause)}` : ''
    console.log(`FAIL ${name}: ${err && err.stack ? err.stack : err}${cause}`)
    console.log(`${passed} passed, 1 failed`)
    process.exit(1)
  }
}

// done prints the count of steps that passed.
export function done() {
  console.log(`${passed} passed, 0 failed`)
}

export function assert(cond, msg) {
  if (!cond) throw new Error(msg)
}

// expectError waits for an XRPC call that must fail with status and error
// name.
export async function expectError(promise, status, name) {
  try {
    await promise
  } catch (err) {
    assert(err.status === status && err.error === name, `want ${status} ${name}, got ${err.status} ${err.error}: ${err.message}`)
    return
  }
  throw new Error(`want ${status} ${name}, the call succeeded`)
}
