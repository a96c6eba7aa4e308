import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { CryptoError } from './errors.ts';

const MAX_OKM = 255 * 32;

/** RFC 5869 extract: an empty salt means a block of zeros, as the RFC says. */
export function hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return extract(sha256, ikm, salt.length === 0 ? new Uint8Array(32) : salt);
}

export function hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > MAX_OKM) {
    throw new CryptoError('BAD_LENGTH', `HKDF-SHA256 output must be 0..${MAX_OKM} bytes, got ${length}`);
  }
  return expand(sha256, prk, info, length);
}

export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return hkdfExpand(hkdfExtract(salt, ikm), info, length);
}
