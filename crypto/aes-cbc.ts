import { createCipheriv, createDecipheriv } from 'node:crypto';
import { requireLength } from './bytes.ts';
import { CryptoError } from './errors.ts';

export interface CbcOptions {
  /** PKCS7 padding (default true); the NIST vectors use whole blocks without it. */
  padding?: boolean;
}

export function aesCbcEncrypt(
  key: Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
  options: CbcOptions = {},
): Uint8Array {
  requireLength('AES-256 key', key, 32);
  requireLength('AES-CBC IV', iv, 16, 'BAD_IV_LENGTH');
  const padding = options.padding ?? true;
  if (!padding && plaintext.length % 16 !== 0) {
    throw new CryptoError('BAD_LENGTH', 'unpadded AES-CBC input must be whole 16-byte blocks');
  }
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  cipher.setAutoPadding(padding);
  return new Uint8Array(Buffer.concat([cipher.update(plaintext), cipher.final()]));
}

export function aesCbcDecrypt(
  key: Uint8Array,
  iv: Uint8Array,
  ciphertext: Uint8Array,
  options: CbcOptions = {},
): Uint8Array {
  requireLength('AES-256 key', key, 32);
  requireLength('AES-CBC IV', iv, 16, 'BAD_IV_LENGTH');
  if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) {
    throw new CryptoError(
      'BAD_LENGTH',
      `AES-CBC ciphertext must be a non-empty multiple of 16 bytes, got ${ciphertext.length}`,
    );
  }
  const decipher = createDecipheriv('aes-256-cbc', key, iv);
  decipher.setAutoPadding(options.padding ?? true);
  try {
    return new Uint8Array(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
  } catch {
    // OpenSSL's "bad decrypt": the only thing final() can reject here is the padding.
    throw new CryptoError('BAD_PADDING', 'AES-CBC plaintext is not PKCS7-padded');
  }
}
