#!/usr/bin/env bash
# Installs the npm dependencies from the lockfile when they are missing or older than the lockfile.
#   ensure-node-deps.sh run   what `npm start` and `npm run serve` need from a checkout: the production
#                             dependencies only (tsx runs the sources); dev dependencies already there stay
#   ensure-node-deps.sh [dev] everything: tests, type check, lint, build, benchmarks
# `npm install --no-save` rather than `npm ci`: npm 11 prunes other platforms' optional packages
# (biome, esbuild binaries) from the lockfile and then refuses `npm ci` for the very lockfile it wrote.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-dev}"
stale() { [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; }
has_dev() { [ -f node_modules/vitest/package.json ]; }
case "$mode" in
  run)
    stale || exit 0
    if has_dev; then
      echo "walink: updating npm dependencies from package-lock.json…" >&2
      npm install --no-save --no-audit --no-fund >&2
    else
      echo "walink: installing the production npm dependencies from package-lock.json…" >&2
      npm install --omit=dev --no-save --no-audit --no-fund >&2
    fi
    ;;
  dev)
    if stale || ! has_dev; then
      echo "walink: installing npm dependencies from package-lock.json…" >&2
      npm install --no-save --no-audit --no-fund >&2
    fi
    ;;
  *)
    echo "usage: ensure-node-deps.sh [run|dev]" >&2
    exit 2
    ;;
esac
