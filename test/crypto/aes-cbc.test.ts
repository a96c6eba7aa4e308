// aesCbcDecrypt checks PKCS7 itself (so the plaintext is a view of one update()): it must accept and refuse
// exactly what OpenSSL's own padding check does, and give the same bytes.
import { createDecipheriv, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aesCbcDecrypt, aesCbcEncrypt, CryptoError } from '../../crypto/index.ts';

const key = new Uint8Array(randomBytes(32));
const iv = new Uint8Array(randomBytes(16));

function openssl(ciphertext: Uint8Array): Uint8Array | 'BAD_PADDING' {
  const decipher = createDecipheriv('aes-256-cbc', key, iv);
  try {
    return new Uint8Array(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
  } catch {
    return 'BAD_PADDING';
  }
}

function ours(ciphertext: Uint8Array): Uint8Array | 'BAD_PADDING' {
  try {
    return new Uint8Array(aesCbcDecrypt(key, iv, ciphertext));
  } catch (error) {
    expect(error).toBeInstanceOf(CryptoError);
    return (error as CryptoError).code as 'BAD_PADDING';
  }
}

describe('AES-256-CBC with PKCS7', () => {
  it('round-trips any plaintext (1,000 cases)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (plaintext) => {
        expect(new Uint8Array(aesCbcDecrypt(key, iv, aesCbcEncrypt(key, iv, plaintext)))).toEqual(plaintext);
      }),
      { numRuns: 1_000 },
    );
  });

  it('accepts and refuses padding exactly as OpenSSL does, on any ciphertext (2,000 cases)', () => {
    // Flipping the last byte of the second-to-last block sets the last plaintext byte (the pad length) to any
    // value while the rest stays; noise in the last block gives random padding.
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 40 }),
        fc.integer({ min: 0, max: 255 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        (plaintext, newPad, noise) => {
          const sealed = aesCbcEncrypt(key, iv, plaintext);
          const oldPad = 16 - (plaintext.length % 16);
          const repadded = new Uint8Array(sealed);
          repadded[repadded.length - 17]! ^= oldPad ^ newPad;
          const noisy = new Uint8Array(sealed);
          noisy.set(noise, noisy.length - 16);
          for (const ciphertext of [sealed, repadded, noisy])
            expect(ours(ciphertext)).toEqual(openssl(ciphertext));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('refuses every wrong padding of a block whose plaintext is known', () => {
    const noPad = (block: Uint8Array) => aesCbcEncrypt(key, iv, block, { padding: false });
    for (const last of [0, 17, 255]) {
      const block = new Uint8Array(16).fill(last);
      expect(ours(noPad(block))).toBe('BAD_PADDING');
    }
    // pad 3 with one wrong pad byte, then right
    const block = new Uint8Array(16);
    block.set([9, 3, 3], 13);
    expect(ours(noPad(block))).toBe('BAD_PADDING');
    block[13] = 3;
    expect(ours(noPad(block))).toEqual(block.subarray(0, 13));
    expect(openssl(noPad(block))).toEqual(block.subarray(0, 13));
  });
});
