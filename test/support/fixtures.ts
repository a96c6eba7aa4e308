// Known-answer data: the public vectors copied into test/fixtures/vectors (its README names their sources).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function fixturePath(relative: string): string {
  return fileURLToPath(new URL(`../fixtures/vectors/${relative}`, import.meta.url));
}

export function readFixture(relative: string): Uint8Array {
  return new Uint8Array(readFileSync(fixturePath(relative)));
}

export function readJsonFixture<T>(relative: string): T {
  return JSON.parse(readFileSync(fixturePath(relative), 'utf8')) as T;
}

export const MEDIA_SAMPLES = [
  { name: 'AUDIO', type: 'audio' },
  { name: 'IMAGE', type: 'image' },
  { name: 'VIDEO', type: 'video' },
] as const;
