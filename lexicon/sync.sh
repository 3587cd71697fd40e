#!/usr/bin/env bash
# Refresh lexicon/schemas (the catalog built into arbor) from ../shared/lexicons,
# byte for byte: every file, README.md (the provenance) and the licenses included.
#
#   bash lexicon/sync.sh [SHARED_DIR]     (default: ../shared beside the repo)
#
# Afterwards run `go test ./lexicon -run TestEmbeddedSchemasEqualShared` (it
# compares the copy with SHARED_DIR/lexicons both ways) and review
# `git status lexicon/schemas`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${1:-$root/../shared}
if [ ! -d "$shared/lexicons" ]; then
  echo "sync.sh: $shared has no lexicons/" >&2
  exit 2
fi
dst=$root/lexicon/schemas
mkdir -p "$dst"
find "$dst" -mindepth 1 -delete
cp -R "$shared/lexicons/." "$dst/"
chmod -R u+w "$dst"
echo "lexicon/schemas: $(find "$dst" -type f | wc -l) files from $shared/lexicons"
