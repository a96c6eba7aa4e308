#!/usr/bin/env node
// Installs a public npm package that walink tests or benchmarks run against (a "peer": someone else's
// client, never a dependency of walink) into .cache/peers/<name>/, outside the project's node_modules.
//
//   node scripts/install-peer.mjs <name> <package@version> [overrides-json]
//   node scripts/install-peer.mjs baileys-6.17.16 @whiskeysockets/baileys@6.17.16 \
//     '{"libsignal":"npm:libsignal@6.0.0","@whiskeysockets/eslint-config":"npm:@whiskeysockets/eslint-config@1.0.0"}'
//   node scripts/install-peer.mjs --manifest test/interop/peers.json   (each {name, spec, overrides})
//
// npm install --ignore-scripts (a peer's install scripts never run here), with `overrides` for
// dependencies that point outside the registry. Idempotent: a stamp records what was installed, and a
// second run with the same spec does nothing. Prints the peer's folder on stdout.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const INSTALL_TIMEOUT_MS = 300_000;

function fail(message) {
  process.stderr.write(`install-peer: ${message}\n`);
  process.exit(1);
}

const args = process.argv.slice(2);
if (args[0] === '--manifest') {
  if (!args[1]) fail('usage: install-peer.mjs --manifest <file.json>');
  let peers;
  try {
    peers = JSON.parse(readFileSync(resolve(args[1]), 'utf8'));
  } catch (error) {
    fail(`cannot read the manifest ${args[1]}: ${error.message}`);
  }
  if (!Array.isArray(peers)) fail('a manifest is a JSON array of {name, spec, overrides}');
  for (const peer of peers) install(peer.name, peer.spec, peer.overrides ?? {});
} else {
  const [name, spec, overridesText] = args;
  let overrides = {};
  if (overridesText) {
    try {
      overrides = JSON.parse(overridesText);
    } catch {
      fail('the overrides are not JSON');
    }
  }
  install(name, spec, overrides);
}

function install(name, spec, overrides) {
  if (!name || !/^[a-z0-9][a-z0-9._-]*$/i.test(name) || typeof spec !== 'string') {
    fail('usage: install-peer.mjs <name> <package@version> [overrides-json]');
  }
  const at = spec.lastIndexOf('@');
  if (at <= 0) fail(`"${spec}" is not package@version`);
  const pkg = spec.slice(0, at);
  const version = spec.slice(at + 1);
  const dir = join(ROOT, '.cache', 'peers', name);
  const stampFile = join(dir, '.installed.json');
  const stamp = JSON.stringify({ pkg, version, overrides });
  const installed = join(dir, 'node_modules', ...pkg.split('/'), 'package.json');
  if (existsSync(stampFile) && existsSync(installed) && readFileSync(stampFile, 'utf8') === stamp) {
    process.stdout.write(`${dir}\n`);
    return;
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify(
      { name: `peer-${name}`, private: true, dependencies: { [pkg]: version }, overrides },
      null,
      2,
    ),
  );
  process.stderr.write(`install-peer: installing ${spec} into ${dir}…\n`);
  const started = Date.now();
  const result = spawnSync(
    'npm',
    ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'],
    {
      cwd: dir,
      stdio: ['ignore', 2, 2],
      timeout: INSTALL_TIMEOUT_MS,
    },
  );
  if (result.status !== 0 || !existsSync(installed)) {
    fail(`npm install of ${spec} failed (${result.error?.message ?? `exit ${result.status}`})`);
  }
  writeFileSync(stampFile, stamp);
  process.stderr.write(`install-peer: ${spec} ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  process.stdout.write(`${dir}\n`);
}
