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
  // A view of the one concatenation (no second copy into a fresh Uint8Array).
  return asView(Buffer.concat([cipher.update(plaintext), cipher.final()]));
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
  // The padding is checked here rather than by OpenSSL: then update() gives every block at once and the
  // plaintext is a view of its output, with no concatenation and no copy.
  decipher.setAutoPadding(false);
  const blocks = decipher.update(ciphertext);
  decipher.final();
  if (!(options.padding ?? true)) return asView(blocks);
  const pad = blocks[blocks.length - 1]!;
  let bad = pad === 0 || pad > 16 ? 1 : 0;
  for (let i = 1; i <= 16; i++) {
    // every pad byte equals the pad length (all 16 are read whatever the pad, like OpenSSL's check)
    if (i <= pad && blocks[blocks.length - i] !== pad) bad = 1;
  }
  if (bad) throw new CryptoError('BAD_PADDING', 'AES-CBC plaintext is not PKCS7-padded');
  return new Uint8Array(blocks.buffer, blocks.byteOffset, blocks.length - pad);
}

function asView(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
}
