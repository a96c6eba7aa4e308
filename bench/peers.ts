// The public clients the benchmarks compare walink with (bench/peers.json): installed on demand into
// .cache/peers/ by scripts/install-peer.mjs (npm, --ignore-scripts, overrides for dependencies that point
// outside the registry), never part of walink's dependencies. Loaded with require from their own folder.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MANIFEST = join(ROOT, 'bench', 'peers.json');

interface PeerEntry {
  name: string;
  spec: string;
  overrides?: Record<string, string>;
}

const folders = new Map<string, string>();

/** The folder of a peer from bench/peers.json, installed first if it is not there yet (idempotent). */
export function peerFolder(name: string): string {
  const known = folders.get(name);
  if (known) return known;
  const peers = JSON.parse(readFileSync(MANIFEST, 'utf8')) as PeerEntry[];
  const peer = peers.find((p) => p.name === name);
  if (!peer) throw new Error(`bench/peers.json has no peer ${name}`);
  const result = spawnSync(
    process.execPath,
    [join(ROOT, 'scripts', 'install-peer.mjs'), peer.name, peer.spec, JSON.stringify(peer.overrides ?? {})],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 310_000 },
  );
  const folder = result.stdout?.trim().split('\n').pop();
  if (result.status !== 0 || !folder) throw new Error(`could not install the peer ${peer.spec}`);
  folders.set(name, folder);
  return folder;
}

/** `require` as seen from inside the peer's folder. */
export function peerRequire(name: string): NodeJS.Require {
  return createRequire(join(peerFolder(name), 'package.json'));
}

export function peerVersion(name: string, pkg: string): string {
  const manifest = peerRequire(name)(`${pkg}/package.json`) as { version: string };
  return `${pkg}@${manifest.version}`;
}

export const LEGACY_PEER = 'baileys-legacy-3.5.3';
export const LEGACY_PACKAGE = '@adiwajshing/baileys';
export const MD_PEER = 'baileys-6.17.16';
export const MD_PACKAGE = '@whiskeysockets/baileys';

/** What the benchmarks use of the legacy client: its node decoder and encoder, and its frame path. */
export interface LegacyPeer {
  version: string;
  decode(bytes: Buffer): unknown;
  encode(node: unknown): Buffer;
  /** decryptWA: tag split, HMAC check, AES-CBC, node decode (WebMessageInfo included). */
  decryptWA(message: Buffer, macKey: Buffer, encKey: Buffer): unknown;
  /** The client's WebMessageInfo type (protobufjs static code), to compare decoded messages. */
  messageToObject(message: unknown): Record<string, unknown>;
}

export function legacyPeer(): LegacyPeer {
  const req = peerRequire(LEGACY_PEER);
  const lib = `${LEGACY_PACKAGE}/lib`;
  const Decoder = (req(`${lib}/Binary/Decoder`) as { default: new () => { read(b: Buffer): unknown } })
    .default;
  const Encoder = (req(`${lib}/Binary/Encoder`) as { default: new () => { write(n: unknown): Buffer } })
    .default;
  const { WA } = req(`${lib}/Binary/Constants`) as {
    WA: { Message: { toObject(m: unknown, o: object): Record<string, unknown> } };
  };
  const utils = req(`${lib}/WAConnection/Utils`) as {
    decryptWA(message: Buffer, macKey: Buffer, encKey: Buffer, decoder: unknown): unknown;
  };
  const decoder = new Decoder();
  const encoder = new Encoder();
  return {
    version: peerVersion(LEGACY_PEER, LEGACY_PACKAGE),
    decode: (bytes) => decoder.read(bytes),
    encode: (node) => encoder.write(node),
    decryptWA: (message, macKey, encKey) => utils.decryptWA(message, macKey, encKey, decoder),
    messageToObject: (message) =>
      WA.Message.toObject(message, { longs: Number, enums: Number, bytes: Buffer }),
  };
}

export interface MdBinaryNode {
  tag: string;
  attrs: Record<string, string>;
  content?: MdBinaryNode[] | string | Uint8Array;
}

/** What the benchmarks use of the MD client: its binary node codec (no compression). */
export interface MdPeer {
  version: string;
  /** Bytes after the one-byte flag prefix. */
  decode(bytes: Buffer): MdBinaryNode;
  /** With the one-byte flag prefix (0), as the client sends it. */
  encode(node: MdBinaryNode): Buffer;
}

export function mdPeer(): MdPeer {
  const req = peerRequire(MD_PEER);
  const binary = req(`${MD_PACKAGE}/lib/WABinary`) as {
    decodeDecompressedBinaryNode(b: Buffer, opts: unknown): MdBinaryNode;
    encodeBinaryNode(n: MdBinaryNode): Buffer;
  };
  const constants = req(`${MD_PACKAGE}/lib/WABinary/constants`);
  return {
    version: peerVersion(MD_PEER, MD_PACKAGE),
    decode: (bytes) => binary.decodeDecompressedBinaryNode(bytes, constants),
    encode: (node) => binary.encodeBinaryNode(node),
  };
}
