#!/bin/sh
# Fetches the graph layout library the web UI ships (@dagrejs/dagre's browser bundle) from
# the npm registry into gateway/assets/ui/vendor/, and checks it is the reviewed one.
set -eu
version=1.1.4
sha256=2cde82baf0b9232c00aa13932945ff92a17fb08c6885a635592330a4c2c567c5
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "@dagrejs/dagre@$version" --silent >/dev/null && tar xzf ./*.tgz)
echo "$sha256  $tmp/package/dist/dagre.min.js" | sha256sum -c --quiet
cp "$tmp/package/dist/dagre.min.js" "$root/gateway/assets/ui/vendor/dagre.min.js"
cp "$tmp/package/LICENSE" "$root/gateway/assets/ui/vendor/dagre.LICENSE"
echo "gateway/assets/ui/vendor: @dagrejs/dagre $version"
