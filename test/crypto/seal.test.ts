// crypto/seal.ts: AES-256-GCM against the GCM specification's vectors, the versioned format, the format
// walink wrote before it (still in Redis), and tampering.
import { createCipheriv } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CryptoError, fromHex, randomBytes, seal, toHex, unseal, utf8 } from '../../crypto/index.ts';
import { readJsonFixture } from '../support/fixtures.ts';

interface GcmCase {
  name: string;
  key: string;
  iv: string;
  plaintext: string;
  aad: string;
  ciphertext: string;
  tag: string;
}

const { cases } = readJsonFixture<{ cases: GcmCase[] }>('aes256_gcm.json');

/** Exactly what actors/redis-credential-store.ts and workers/job-seal.ts wrote before crypto/seal.ts. */
function sealAsBefore(key: Uint8Array, plaintext: Uint8Array, ad: Uint8Array, iv = randomBytes(12)) {
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(ad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return new Uint8Array(Buffer.concat([iv, body, cipher.getAuthTag()]));
}

const expectCode = (run: () => unknown, code: string) =>
  expect(run).toThrow(expect.objectContaining({ name: 'CryptoError', code }));

describe('unseal reads format 0 (iv ‖ ciphertext ‖ tag): the GCM specification, AES-256', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const stored = fromHex(c.iv + c.ciphertext + c.tag);
    expect(toHex(unseal(fromHex(c.key), stored, fromHex(c.aad)))).toBe(c.plaintext);
  });

  it('reads a format-0 value whose random IV starts with the format byte', () => {
    const key = randomBytes(32);
    const iv = Uint8Array.of(0x01, ...randomBytes(11));
    const stored = sealAsBefore(key, utf8('{"v":1}'), utf8('walink:credentials:alice'), iv);
    expect(stored[0]).toBe(0x01);
    expect(new TextDecoder().decode(unseal(key, stored, utf8('walink:credentials:alice')))).toBe('{"v":1}');
  });

  it('reads what the old writers stored, for any key, plaintext and name', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array(),
        fc.string(),
        (key, text, name) => {
          const stored = sealAsBefore(key, text, utf8(name));
          expect(toHex(unseal(key, stored, utf8(name)))).toBe(toHex(text));
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('seal writes format 1 (0x01 ‖ iv ‖ ciphertext ‖ tag, the format byte bound as associated data)', () => {
  const c = cases[3]!;
  const key = fromHex(c.key);

  it('produces the pinned bytes for a fixed IV, so values sealed today stay readable', () => {
    const sealed = seal(key, utf8('{"clientId":"walink"}'), utf8('walink:credentials:alice'), fromHex(c.iv));
    expect(toHex(sealed)).toBe(
      '01cafebabefacedbaddecaf888f03e90b908b7159618421c5ca706058b8bf34eadd7b5e9832f529af0e12b06723dc8b9cf2d',
    );
    expect(new TextDecoder().decode(unseal(key, sealed, utf8('walink:credentials:alice')))).toBe(
      '{"clientId":"walink"}',
    );
  });

  it('is GCM over the plaintext with 0x01 ‖ ad as associated data', () => {
    const plaintext = fromHex(c.plaintext);
    const sealed = seal(key, plaintext, fromHex(c.aad), fromHex(c.iv));
    const expected = sealAsBefore(key, plaintext, Uint8Array.of(0x01, ...fromHex(c.aad)), fromHex(c.iv));
    expect(toHex(sealed)).toBe(`01${toHex(expected)}`);
    // The GCM output differs from the vector's only because the associated data carries the format byte.
    expect(toHex(sealed)).not.toContain(c.tag);
  });

  it('round-trips any plaintext and name, with a fresh IV each time', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.string(), (text, name) => {
        const k = randomBytes(32);
        const first = seal(k, text, utf8(name));
        expect(first.length).toBe(1 + 12 + text.length + 16);
        expect(toHex(unseal(k, first, utf8(name)))).toBe(toHex(text));
        expect(toHex(seal(k, text, utf8(name)).subarray(1, 13))).not.toBe(toHex(first.subarray(1, 13)));
      }),
      { numRuns: 100 },
    );
  });
});

describe('tampering and misuse', () => {
  const key = randomBytes(32);
  const name = utf8('walink:credentials:bob');
  const sealed = seal(key, randomBytes(64), name);

  it('refuses every single flipped bit with BAD_MAC', () => {
    fc.assert(
      fc.property(fc.nat(sealed.length * 8 - 1), (bit) => {
        const tampered = sealed.slice();
        tampered[bit >> 3]! ^= 1 << (bit & 7);
        expectCode(() => unseal(key, tampered, name), 'BAD_MAC');
      }),
      { numRuns: 300 },
    );
  });

  it('refuses another key, another name, a dropped format byte and a format-0 value under another name', () => {
    expectCode(() => unseal(randomBytes(32), sealed, name), 'BAD_MAC');
    expectCode(() => unseal(key, sealed, utf8('walink:credentials:mallory')), 'BAD_MAC');
    expectCode(() => unseal(key, sealed.subarray(1), name), 'BAD_MAC');
    const old = sealAsBefore(key, utf8('x'), name);
    expectCode(() => unseal(key, old, utf8('walink:credentials:mallory')), 'BAD_MAC');
    expectCode(() => unseal(key, sealed.subarray(0, sealed.length - 1), name), 'BAD_MAC');
  });

  it('refuses values too short to be sealed, and keys and IVs of the wrong length, with typed errors', () => {
    expectCode(() => unseal(key, randomBytes(27), name), 'BAD_LENGTH');
    expectCode(() => unseal(key, new Uint8Array(0), name), 'BAD_LENGTH');
    expectCode(() => seal(randomBytes(16), utf8('x'), name), 'BAD_KEY_LENGTH');
    expectCode(() => unseal(randomBytes(31), sealed, name), 'BAD_KEY_LENGTH');
    expectCode(() => seal(key, utf8('x'), name, randomBytes(16)), 'BAD_IV_LENGTH');
    expect(() => unseal(key, randomBytes(27), name)).toThrow(CryptoError);
  });
});
