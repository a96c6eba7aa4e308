#!/usr/bin/env bash
# The whole test command: dependencies, type check, lint, then every test (unit, property,
# model-based, end-to-end against the emulator, real Redis, real headless Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-deps.sh
bash scripts/ensure-system-deps.sh
echo "walink: interop peers (scripts/install-peer.mjs, into .cache/peers/)" >&2
node scripts/install-peer.mjs --manifest test/interop/peers.json >/dev/null
echo "walink: type check (tsc --noEmit)" >&2
npx tsc --noEmit
echo "walink: lint (biome check)" >&2
npx biome check .
echo "walink: tests (vitest run)" >&2
npx vitest run "$@"
