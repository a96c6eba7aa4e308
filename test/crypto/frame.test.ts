import { createCipheriv } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CryptoError,
  fromBase64,
  hmacSha256,
  openFrame,
  randomBytes,
  sealFrame,
  toBase64,
  toHex,
} from '../../crypto/index.ts';

const keys = { encKey: randomBytes(32), macKey: randomBytes(32) };

describe('frame seal/open (docs/protocol.md §1)', () => {
  it('lays out hmac ‖ iv ‖ ciphertext with the HMAC over iv ‖ ciphertext', () => {
    const iv = randomBytes(16);
    const sealed = sealFrame(keys, new Uint8Array([1, 2, 3]), iv);
    expect(sealed.length).toBe(32 + 16 + 16);
    expect(toHex(sealed.subarray(32, 48))).toBe(toHex(iv));
    expect(toHex(sealed.subarray(0, 32))).toBe(toHex(hmacSha256(keys.macKey, sealed.subarray(32))));
  });

  it('round-trips any payload (10,000 cases)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (payload) => {
        const sealed = sealFrame(keys, payload);
        expect((sealed.length - 48) % 16).toBe(0);
        expect(toHex(openFrame(keys, sealed))).toBe(toHex(payload));
      }),
      { numRuns: 10_000 },
    );
  });

  it('rejects a flipped bit anywhere with BAD_MAC and returns nothing', () => {
    const sealed = sealFrame(keys, randomBytes(100));
    fc.assert(
      fc.property(fc.nat(sealed.length * 8 - 1), (bit) => {
        const tampered = sealed.slice();
        tampered[bit >> 3]! ^= 1 << (bit & 7);
        let opened: Uint8Array | undefined;
        try {
          opened = openFrame(keys, tampered);
        } catch (error) {
          expect(error).toMatchObject({ code: 'BAD_MAC' });
        }
        expect(opened).toBeUndefined();
      }),
      { numRuns: 2_000 },
    );
  });

  it('only ever answers random bytes with a CryptoError (10,000 cases)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(() => openFrame(keys, bytes)).toThrow(CryptoError);
      }),
      { numRuns: 10_000 },
    );
  });

  it('refuses wrong key lengths and wrong payload lengths with typed errors', () => {
    const sealed = sealFrame(keys, new Uint8Array(5));
    expect(() => openFrame({ ...keys, macKey: keys.macKey.subarray(1) }, sealed)).toThrow(
      expect.objectContaining({ code: 'BAD_KEY_LENGTH' }),
    );
    expect(() => openFrame(keys, sealed.subarray(0, 63))).toThrow(
      expect.objectContaining({ code: 'BAD_LENGTH' }),
    );
    expect(() => openFrame(keys, new Uint8Array(48))).toThrow(
      expect.objectContaining({ code: 'BAD_LENGTH' }),
    );
  });

  it('refuses a correctly MACed frame whose padding is wrong as BAD_PADDING', () => {
    // Encrypt a block whose last byte is not valid PKCS7, then MAC it properly.
    const iv = randomBytes(16);
    const cipher = createCipheriv('aes-256-cbc', keys.encKey, iv).setAutoPadding(false);
    const ct = Buffer.concat([cipher.update(new Uint8Array(16).fill(0x20)), cipher.final()]);
    const sealed = Buffer.concat([hmacSha256(keys.macKey, iv, ct), iv, ct]);
    expect(() => openFrame(keys, sealed)).toThrow(expect.objectContaining({ code: 'BAD_PADDING' }));
  });
});

describe('base64', () => {
  it('round-trips and is strict about padding and alphabet', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(toHex(fromBase64(toBase64(bytes)))).toBe(toHex(bytes));
      }),
      { numRuns: 10_000 },
    );
    for (const bad of ['abc', 'ab$=', 'YQ', 'YQ=', ' YQ==']) {
      expect(() => fromBase64(bad)).toThrow(expect.objectContaining({ code: 'BAD_BASE64' }));
    }
  });
});
