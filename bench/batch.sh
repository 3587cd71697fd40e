#!/usr/bin/env bash
# Times `arbor verify --batch` over N small repositories (copies of the
# golden repositories empty, one, ten, p256-50 and r300, 0.3 to 97 KiB),
# side by side with N `arbor verify FILE` processes run on every core
# (xargs -P $(nproc)), and checks both give the same verdicts.
#
#   bench/batch.sh [N]          default 10000
#   REPS=3 bench/batch.sh       best of REPS runs of each
#
# Needs go and /usr/bin/time. Output: a Markdown table on stdout; files
# under bench/out/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
REPS=${REPS:-1}
OUT=bench/out
DIR=$OUT/batch-$N
mkdir -p "$OUT"
go build -o "$OUT/arbor" .
ARBOR=$OUT/arbor
if [ ! -s "$DIR/list.txt" ]; then
  echo "copying $N small repositories into $DIR ..." >&2
  rm -rf "$DIR"; mkdir -p "$DIR"
  SRC=(empty one ten p256-50 r300)
  for i in $(seq 0 $((N-1))); do
    printf '%s/r%05d.car\n' "$DIR" "$i"
  done > "$DIR/list.tmp"
  i=0
  while read -r p; do cp "golden/repos/${SRC[$((i % 5))]}.car" "$p"; i=$((i+1)); done < "$DIR/list.tmp"
  mv "$DIR/list.tmp" "$DIR/list.txt"
fi
BYTES=$(du -sb "$DIR" | cut -f1)

# best NAME CMD...: the best wall time of REPS runs, and the peak RSS.
best() {
  local t m b="" rss=0
  for _ in $(seq "$REPS"); do
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$@" > "$OUT/batch-out.txt" 2>/dev/null || true
    read -r t m < "$OUT/time.txt"
    if [ -z "$b" ] || awk "BEGIN{exit !($t < $b)}"; then b=$t; fi
    if [ "$m" -gt "$rss" ]; then rss=$m; fi
  done
  echo "$b $rss"
}
read -r TB MB < <(best "$ARBOR" verify --batch "$DIR/list.txt")
VALID_BATCH=$(grep -c '"verdict":"valid"' "$OUT/batch-out.txt" || true)
read -r TP MP < <(best sh -c "xargs -P $(nproc) -n 1 $ARBOR verify < $DIR/list.txt")
VALID_PROC=$(grep -c ': valid:' "$OUT/batch-out.txt" || true)

echo "repositories: $N copies of 5 golden repositories ($((BYTES/1024)) KiB in all), $(nproc) cores, $(date -u +%Y-%m-%d), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| command | wall | per repository | peak RSS | valid |"
echo "| --- | --- | --- | --- | --- |"
printf '| arbor verify --batch LIST | %.2f s | %.0f µs | %d MiB | %d |\n' "$TB" "$(awk "BEGIN{print $TB*1e6/$N}")" $((MB/1024)) "$VALID_BATCH"
printf '| %d arbor verify processes (xargs -P %d) | %.2f s | %.0f µs | %d MiB each | %d |\n' "$N" "$(nproc)" "$TP" "$(awk "BEGIN{print $TP*1e6/$N}")" $((MP/1024)) "$VALID_PROC"
printf '| speed-up | %.1fx | | | |\n' "$(awk "BEGIN{print $TP/$TB}")"
