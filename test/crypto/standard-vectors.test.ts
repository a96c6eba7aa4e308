import { describe, expect, it } from 'vitest';
import {
  aesCbcDecrypt,
  aesCbcEncrypt,
  CryptoError,
  fromHex,
  hkdf,
  hkdfExpand,
  hkdfExtract,
  hmacSha256,
  toHex,
  x25519PublicKey,
  x25519SharedSecret,
} from '../../crypto/index.ts';
import { readJsonFixture } from '../support/fixtures.ts';

interface Vectors {
  hkdf_sha256: {
    name: string;
    ikm: string;
    salt: string;
    info: string;
    L: number;
    prk: string;
    okm: string;
  }[];
  x25519: { name: string; scalar: string; u: string; out: string }[];
  x25519_iterated: { start: string; after_1: string; after_1000: string };
  x25519_dh: Record<'alice_priv' | 'alice_pub' | 'bob_priv' | 'bob_pub' | 'shared', string>;
  hmac_sha256: { name: string; key: string; data: string; mac: string; truncate_bytes?: number }[];
  aes256_cbc: { key: string; iv: string; plaintext_blocks: string[]; ciphertext_blocks: string[] };
}

const vectors = readJsonFixture<Vectors>('standard_vectors.json');

describe('HKDF-SHA256 (RFC 5869)', () => {
  it.each(vectors.hkdf_sha256.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    const prk = hkdfExtract(fromHex(v.salt), fromHex(v.ikm));
    expect(toHex(prk)).toBe(v.prk);
    expect(toHex(hkdfExpand(prk, fromHex(v.info), v.L))).toBe(v.okm);
    expect(toHex(hkdf(fromHex(v.ikm), fromHex(v.salt), fromHex(v.info), v.L))).toBe(v.okm);
  });

  it('refuses an output longer than 255 blocks', () => {
    expect(() => hkdfExpand(new Uint8Array(32), new Uint8Array(0), 255 * 32 + 1)).toThrow(CryptoError);
  });
});

describe('X25519 (RFC 7748)', () => {
  it.each(vectors.x25519.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    expect(toHex(x25519SharedSecret(fromHex(v.scalar), fromHex(v.u)))).toBe(v.out);
  });

  it('iterates 1 and 1000 times to the published values', () => {
    let k = fromHex(vectors.x25519_iterated.start);
    let u = fromHex(vectors.x25519_iterated.start);
    for (let i = 1; i <= 1000; i++) {
      const next = x25519SharedSecret(k, u);
      u = k;
      k = next;
      if (i === 1) expect(toHex(k)).toBe(vectors.x25519_iterated.after_1);
    }
    expect(toHex(k)).toBe(vectors.x25519_iterated.after_1000);
  });

  it('agrees on the Diffie-Hellman example of section 6.1', () => {
    const dh = vectors.x25519_dh;
    expect(toHex(x25519PublicKey(fromHex(dh.alice_priv)))).toBe(dh.alice_pub);
    expect(toHex(x25519PublicKey(fromHex(dh.bob_priv)))).toBe(dh.bob_pub);
    expect(toHex(x25519SharedSecret(fromHex(dh.alice_priv), fromHex(dh.bob_pub)))).toBe(dh.shared);
    expect(toHex(x25519SharedSecret(fromHex(dh.bob_priv), fromHex(dh.alice_pub)))).toBe(dh.shared);
  });

  it('refuses keys of the wrong length with a typed error', () => {
    expect(() => x25519SharedSecret(new Uint8Array(31), new Uint8Array(32))).toThrow(
      expect.objectContaining({ code: 'BAD_KEY_LENGTH' }),
    );
  });
});

describe('HMAC-SHA256 (RFC 4231)', () => {
  it.each(vectors.hmac_sha256.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    const mac = hmacSha256(fromHex(v.key), fromHex(v.data));
    expect(toHex(mac.subarray(0, v.truncate_bytes ?? 32))).toBe(v.mac);
  });

  it('MACs the concatenation of its data arguments', () => {
    const v = vectors.hmac_sha256[1]!;
    const data = fromHex(v.data);
    expect(toHex(hmacSha256(fromHex(v.key), data.subarray(0, 5), data.subarray(5)))).toBe(v.mac);
  });
});

describe('AES-256-CBC (NIST SP 800-38A F.2.5 / F.2.6)', () => {
  const v = vectors.aes256_cbc;
  const key = fromHex(v.key);
  const iv = fromHex(v.iv);
  const plaintext = fromHex(v.plaintext_blocks.join(''));
  const ciphertext = fromHex(v.ciphertext_blocks.join(''));

  it('encrypts F.2.5 without padding', () => {
    expect(toHex(aesCbcEncrypt(key, iv, plaintext, { padding: false }))).toBe(toHex(ciphertext));
  });

  it('decrypts F.2.6 without padding', () => {
    expect(toHex(aesCbcDecrypt(key, iv, ciphertext, { padding: false }))).toBe(toHex(plaintext));
  });

  it('adds a whole PKCS7 block to a block-aligned plaintext', () => {
    const padded = aesCbcEncrypt(key, iv, plaintext);
    expect(padded.length).toBe(80);
    expect(toHex(padded.subarray(0, 64))).toBe(toHex(ciphertext));
    expect(toHex(aesCbcDecrypt(key, iv, padded))).toBe(toHex(plaintext));
  });

  it('reports bad padding, key and IV lengths as typed errors', () => {
    expect(() => aesCbcDecrypt(key, iv, ciphertext)).toThrow(
      expect.objectContaining({ code: 'BAD_PADDING' }),
    );
    expect(() => aesCbcDecrypt(key.subarray(1), iv, ciphertext)).toThrow(
      expect.objectContaining({ code: 'BAD_KEY_LENGTH' }),
    );
    expect(() => aesCbcEncrypt(key, iv.subarray(1), plaintext)).toThrow(
      expect.objectContaining({ code: 'BAD_IV_LENGTH' }),
    );
    expect(() => aesCbcDecrypt(key, iv, ciphertext.subarray(1))).toThrow(
      expect.objectContaining({ code: 'BAD_LENGTH' }),
    );
  });
});
