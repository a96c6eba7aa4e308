// docs/protocol.md §1: an encrypted frame payload is hmac(32) ‖ iv(16) ‖ AES-256-CBC(encKey, iv, PKCS7(node)),
// hmac = HMAC-SHA256(macKey, iv ‖ ciphertext). The HMAC is checked before anything is decrypted.
import { aesCbcDecrypt, aesCbcEncrypt } from './aes-cbc.ts';
import { concatBytes, constantTimeEqual, randomBytes, requireLength } from './bytes.ts';
import { CryptoError } from './errors.ts';
import { hmacSha256 } from './hash.ts';
import type { SessionKeys } from './pairing.ts';

const HMAC_LENGTH = 32;
const IV_LENGTH = 16;

function checkKeys(keys: SessionKeys): void {
  requireLength('encKey', keys.encKey, 32);
  requireLength('macKey', keys.macKey, 32);
}

export function sealFrame(
  keys: SessionKeys,
  plaintext: Uint8Array,
  iv: Uint8Array = randomBytes(IV_LENGTH),
): Uint8Array {
  checkKeys(keys);
  requireLength('frame IV', iv, IV_LENGTH, 'BAD_IV_LENGTH');
  const ciphertext = aesCbcEncrypt(keys.encKey, iv, plaintext);
  return concatBytes(hmacSha256(keys.macKey, iv, ciphertext), iv, ciphertext);
}

export function openFrame(keys: SessionKeys, sealed: Uint8Array): Uint8Array {
  checkKeys(keys);
  const bodyLength = sealed.length - HMAC_LENGTH - IV_LENGTH;
  if (bodyLength < 16 || bodyLength % 16 !== 0) {
    throw new CryptoError(
      'BAD_LENGTH',
      `an encrypted frame is 32 + 16 + 16·k bytes (k ≥ 1), got ${sealed.length}`,
    );
  }
  const mac = sealed.subarray(0, HMAC_LENGTH);
  const iv = sealed.subarray(HMAC_LENGTH, HMAC_LENGTH + IV_LENGTH);
  const ciphertext = sealed.subarray(HMAC_LENGTH + IV_LENGTH);
  if (!constantTimeEqual(hmacSha256(keys.macKey, iv, ciphertext), mac)) {
    throw new CryptoError('BAD_MAC', 'frame HMAC does not verify');
  }
  return aesCbcDecrypt(keys.encKey, iv, ciphertext);
}
