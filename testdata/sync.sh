#!/usr/bin/env bash
# Refresh testdata/interop and testdata/corpus from ../shared, byte for byte.
#
#   bash testdata/sync.sh [SHARED_DIR]     (default: ../shared beside the repo)
#
# Every file of SHARED_DIR/interop and SHARED_DIR/corpus is copied, except
# that shared/interop/README.md (the upstream provenance notes) is kept as
# testdata/interop/PROVENANCE.md, because testdata/interop/README.md is ours.
# Our README.md files are left alone; anything else under the two folders is
# replaced. Afterwards run `go test ./internal/testfixtures` (it compares the
# copies with SHARED_DIR file by file) and review `git status testdata`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${1:-$root/../shared}
if [ ! -d "$shared/interop" ] || [ ! -d "$shared/corpus" ]; then
  echo "sync.sh: $shared has no interop/ and corpus/" >&2
  exit 2
fi
for set in interop corpus; do
  dst=$root/testdata/$set
  mkdir -p "$dst"
  readme=""
  if [ -f "$dst/README.md" ]; then
    readme=$(mktemp)
    cp "$dst/README.md" "$readme"
  fi
  find "$dst" -mindepth 1 -delete
  cp -R "$shared/$set/." "$dst/"
  chmod -R u+w "$dst"
  if [ "$set" = interop ] && [ -f "$dst/README.md" ]; then
    mv "$dst/README.md" "$dst/PROVENANCE.md"
  fi
  if [ -n "$readme" ]; then
    cp "$readme" "$dst/README.md"
    rm -f "$readme"
  fi
  echo "testdata/$set: $(find "$dst" -type f | wc -l) files from $shared/$set"
done
