// AES-256-GCM with a 16-byte tag appended to the ciphertext (the layout of Noise and of the pair-code key
// bundle, docs/protocol-md.md "Noise" and "Pair code").
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { requireLength } from './bytes.ts';
import { CryptoError } from './errors.ts';

export const GCM_TAG_LENGTH = 16;
export const GCM_IV_LENGTH = 12;

const EMPTY = new Uint8Array(0);

export function aesGcmSeal(
  key: Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array = EMPTY,
): Uint8Array {
  requireLength('AES-256 key', key, 32);
  requireLength('AES-GCM IV', iv, GCM_IV_LENGTH, 'BAD_IV_LENGTH');
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  if (aad.length > 0) cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  cipher.final();
  const out = new Uint8Array(body.length + GCM_TAG_LENGTH);
  out.set(body, 0);
  out.set(cipher.getAuthTag(), body.length);
  return out;
}

/** Opens `ciphertext ‖ tag`; a wrong key, IV, AAD or any changed byte is CryptoError BAD_TAG. */
export function aesGcmOpen(
  key: Uint8Array,
  iv: Uint8Array,
  sealed: Uint8Array,
  aad: Uint8Array = EMPTY,
): Uint8Array {
  requireLength('AES-256 key', key, 32);
  requireLength('AES-GCM IV', iv, GCM_IV_LENGTH, 'BAD_IV_LENGTH');
  if (!(sealed instanceof Uint8Array) || sealed.length < GCM_TAG_LENGTH) {
    throw new CryptoError('BAD_LENGTH', `AES-GCM input must hold at least the ${GCM_TAG_LENGTH}-byte tag`);
  }
  const split = sealed.length - GCM_TAG_LENGTH;
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAuthTag(sealed.subarray(split));
  if (aad.length > 0) decipher.setAAD(aad);
  const body = decipher.update(sealed.subarray(0, split));
  try {
    decipher.final();
  } catch {
    throw new CryptoError('BAD_TAG', 'AES-GCM authentication failed');
  }
  return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
}
