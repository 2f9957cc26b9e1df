#!/usr/bin/env bash
# Refresh the browser libraries the web UI serves from web/static/vendor/.
# npm runs in a scratch folder; only the dist files are committed, so `make run` needs no npm.
#   tools/vendor_js.sh           install the versions pinned in package-lock.json (npm ci)
#   tools/vendor_js.sh --update  re-resolve package.json (npm install) and rewrite the lock
set -euo pipefail
cd "$(dirname "$0")/.."
WEB=web
DEST=$WEB/static/vendor
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

cp "$WEB/package.json" "$SCRATCH/"
[ -f "$WEB/package-lock.json" ] && cp "$WEB/package-lock.json" "$SCRATCH/"
if [ "${1:-}" = "--update" ] || [ ! -f "$SCRATCH/package-lock.json" ]; then
  (cd "$SCRATCH" && npm install --no-audit --no-fund --ignore-scripts)
  cp "$SCRATCH/package-lock.json" "$WEB/package-lock.json"
else
  (cd "$SCRATCH" && npm ci --no-audit --no-fund --ignore-scripts)
fi

mkdir -p "$DEST"
M=$SCRATCH/node_modules
cp "$M/htmx.org/dist/htmx.min.js" "$DEST/htmx.min.js"
cp "$M/wavesurfer.js/dist/wavesurfer.min.js" "$DEST/wavesurfer.min.js"
cp "$M/wavesurfer.js/dist/plugins/regions.min.js" "$DEST/wavesurfer.regions.min.js"
cp "$M/htmx.org/LICENSE" "$DEST/htmx.LICENSE"
cp "$M/wavesurfer.js/LICENSE" "$DEST/wavesurfer.LICENSE"
node -e 'const l=require(process.argv[1]).packages;for(const k of ["node_modules/htmx.org","node_modules/wavesurfer.js"])console.log(k.slice(13)+" "+l[k].version)' \
  "$PWD/$WEB/package-lock.json" > "$DEST/VERSIONS"
cat "$DEST/VERSIONS"
