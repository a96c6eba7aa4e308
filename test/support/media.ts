// Media for worker tests: known-answer samples and objects served by the emulator's CDN.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Emulator, PhoneMediaType } from '../../emulator/index.ts';
import type { MediaJobInput } from '../../workers/index.ts';

export function tempDir(prefix = 'walink-media-'): { path: string; files(): string[]; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return {
    path,
    files: () => readdirSync(path).sort(),
    remove: () => rmSync(path, { recursive: true, force: true }),
  };
}

/** Uploads `plaintext` to the emulator's CDN as the phone would; returns the job a session would enqueue. */
export function cdnJob(emu: Emulator, plaintext: Uint8Array, type: PhoneMediaType = 'image'): MediaJobInput {
  const { message } = emu.hub.media.upload(
    `msg-${Math.random().toString(36).slice(2)}`,
    type,
    plaintext,
    'application/octet-stream',
    emu.url,
    Date.now(),
  );
  const fields = Object.values(message)[0] as {
    mediaKey: Uint8Array;
    url: string;
    directPath: string;
    fileSha256: Uint8Array;
    fileEncSha256: Uint8Array;
    fileLength: number | { toNumber(): number };
  };
  return {
    type,
    mediaKey: fields.mediaKey,
    url: fields.url,
    directPath: fields.directPath,
    fileSha256: fields.fileSha256,
    fileEncSha256: fields.fileEncSha256,
    fileLength: Number(fields.fileLength),
  };
}

/** Splits bytes at the given cut points, as a network would. */
export async function* chunked(bytes: Uint8Array, cuts: number[]): AsyncGenerator<Uint8Array> {
  const points = [...new Set(cuts.map((c) => Math.max(0, Math.min(bytes.length, c))))].sort((a, b) => a - b);
  let start = 0;
  for (const point of [...points, bytes.length]) {
    yield bytes.subarray(start, point);
    start = point;
  }
}
