#!/usr/bin/env bash
# Installs the npm dependencies from the lockfile when they are missing or older than the lockfile.
# `npm install --no-save` rather than `npm ci`: npm 11 prunes other platforms' optional packages
# (biome, esbuild binaries) from the lockfile and then refuses `npm ci` for the very lockfile it wrote.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "walink: installing npm dependencies from package-lock.json…" >&2
  npm install --no-save --no-audit --no-fund >&2
fi
