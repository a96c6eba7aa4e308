// HKDF-SHA256 (RFC 5869) on node:crypto's HMAC: the media path loads no JavaScript hash library.
import { createHmac } from 'node:crypto';
import { CryptoError } from './errors.ts';

const HASH_LENGTH = 32;
const MAX_OKM = 255 * HASH_LENGTH;

/** RFC 5869 extract: an empty salt means a block of zeros, as the RFC says. */
export function hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  const key = salt.length === 0 ? new Uint8Array(HASH_LENGTH) : salt;
  return new Uint8Array(createHmac('sha256', key).update(ikm).digest());
}

/** RFC 5869 expand: T(i) = HMAC(prk, T(i-1) ‖ info ‖ i), concatenated and cut to `length`. */
export function hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > MAX_OKM) {
    throw new CryptoError('BAD_LENGTH', `HKDF-SHA256 output must be 0..${MAX_OKM} bytes, got ${length}`);
  }
  const okm = new Uint8Array(length);
  let previous: Uint8Array = new Uint8Array(0);
  for (let i = 1, written = 0; written < length; i++) {
    previous = createHmac('sha256', prk).update(previous).update(info).update(Uint8Array.of(i)).digest();
    okm.set(previous.subarray(0, length - written), written);
    written += previous.length;
  }
  return okm;
}

export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return hkdfExpand(hkdfExtract(salt, ikm), info, length);
}
