# Shared by bench/pds.sh and bench/firehose.sh (sourced, not run): waiting
# for a server to start, and the arbor half of a run. The caller sets work
# (its work directory) and pids (the servers to stop at exit), and defines
# load LABEL URL, which writes $work/LABEL.json.

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
