// Values at rest outside the process (credentials and media jobs in Redis) are sealed with AES-256-GCM,
// bound to associated data (the Redis key, the job id) so a sealed value cannot be moved to another name.
//
// Format 1, written by seal():  0x01 ‖ iv(12) ‖ ciphertext ‖ tag(16), associated data 0x01 ‖ ad.
// Format 0, read only:          iv(12) ‖ ciphertext ‖ tag(16), associated data ad.
// Format 0 is what walink wrote before the format had a version; credentials stored then are still in
// Redis, so unseal() keeps reading it. A format-0 value whose random IV happens to start with 0x01 fails
// format 1's tag check and is then read as format 0: GCM's tag lets at most one reading authenticate.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { concatBytes, randomBytes, requireLength } from './bytes.ts';
import { CryptoError } from './errors.ts';

export const SEAL_KEY_LENGTH = 32;
const FORMAT = 0x01;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
/** The shortest value unseal() can read: a format-0 seal of nothing. */
const MIN_SEALED = IV_LENGTH + TAG_LENGTH;

/** iv ‖ ciphertext ‖ tag. */
function gcmSeal(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH }).setAAD(ad);
  return concatBytes(iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag());
}

/** iv ‖ ciphertext ‖ tag opened, or null when the tag does not verify. */
function gcmOpen(key: Uint8Array, body: Uint8Array, ad: Uint8Array): Uint8Array | null {
  if (body.length < MIN_SEALED) return null;
  const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, IV_LENGTH), {
    authTagLength: TAG_LENGTH,
  }).setAAD(ad);
  decipher.setAuthTag(body.subarray(body.length - TAG_LENGTH));
  try {
    return concatBytes(decipher.update(body.subarray(IV_LENGTH, body.length - TAG_LENGTH)), decipher.final());
  } catch {
    return null;
  }
}

/**
 * Seals `plaintext` under a 32-byte key, bound to `associatedData`, with a fresh random IV.
 * `iv` is for known-answer tests only: an IV used twice under one key breaks GCM.
 */
export function seal(
  key: Uint8Array,
  plaintext: Uint8Array,
  associatedData: Uint8Array,
  iv: Uint8Array = randomBytes(IV_LENGTH),
): Uint8Array {
  requireLength('sealing key', key, SEAL_KEY_LENGTH);
  requireLength('seal IV', iv, IV_LENGTH, 'BAD_IV_LENGTH');
  const header = Uint8Array.of(FORMAT);
  return concatBytes(header, gcmSeal(key, iv, plaintext, concatBytes(header, associatedData)));
}

/**
 * Opens what seal() (format 1) or walink before it (format 0) sealed. CryptoError BAD_LENGTH when the value
 * is too short to be sealed, BAD_MAC when it does not authenticate (another key, other associated data,
 * or altered bytes); nothing decrypted is returned then.
 */
export function unseal(key: Uint8Array, sealed: Uint8Array, associatedData: Uint8Array): Uint8Array {
  requireLength('sealing key', key, SEAL_KEY_LENGTH);
  if (sealed.length < MIN_SEALED) {
    throw new CryptoError(
      'BAD_LENGTH',
      `a sealed value is at least ${MIN_SEALED} bytes, got ${sealed.length}`,
    );
  }
  if (sealed[0] === FORMAT) {
    const opened = gcmOpen(key, sealed.subarray(1), concatBytes(sealed.subarray(0, 1), associatedData));
    if (opened) return opened;
  }
  const legacy = gcmOpen(key, sealed, associatedData);
  if (legacy) return legacy;
  throw new CryptoError('BAD_MAC', 'the sealed value does not authenticate under this key and name');
}
