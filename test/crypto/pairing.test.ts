import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildPairingSecret,
  challengeAnswer,
  deriveSessionKeys,
  hmacSha256,
  offlineLogoutToken,
  randomBytes,
  toHex,
  x25519KeyPair,
} from '../../crypto/index.ts';

function pairingFixture() {
  const client = x25519KeyPair();
  const keys = { encKey: randomBytes(32), macKey: randomBytes(32) };
  const secret = buildPairingSecret(client.publicKey, keys);
  return { client, keys, secret };
}

describe('pairing secret (docs/protocol.md §2.4)', () => {
  it('round-trips: the server builds a secret, the client derives the same keys', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (encKey, macKey) => {
          const client = x25519KeyPair();
          const secret = buildPairingSecret(client.publicKey, { encKey, macKey });
          expect(secret.length).toBe(144);
          const derived = deriveSessionKeys(client.privateKey, secret);
          expect(toHex(derived.encKey)).toBe(toHex(encKey));
          expect(toHex(derived.macKey)).toBe(toHex(macKey));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('uses the server key pair it is given, whose public key opens the secret', () => {
    const client = x25519KeyPair();
    const server = x25519KeyPair();
    const keys = { encKey: randomBytes(32), macKey: randomBytes(32) };
    const secret = buildPairingSecret(client.publicKey, keys, server);
    expect(toHex(secret.subarray(0, 32))).toBe(toHex(server.publicKey));
  });

  it('refuses a secret with any byte of its HMAC or ciphertext flipped: no keys', () => {
    const { client, secret } = pairingFixture();
    for (let position = 32; position < 144; position++) {
      const tampered = secret.slice();
      tampered[position]! ^= 0x80;
      expect(() => deriveSessionKeys(client.privateKey, tampered)).toThrow(
        expect.objectContaining({ code: 'BAD_SECRET' }),
      );
    }
  });

  it('refuses a secret meant for another client', () => {
    const { secret } = pairingFixture();
    expect(() => deriveSessionKeys(x25519KeyPair().privateKey, secret)).toThrow(
      expect.objectContaining({ code: 'BAD_SECRET' }),
    );
  });

  it('refuses secrets of the wrong length and a low-order server key', () => {
    const { client, secret } = pairingFixture();
    expect(() => deriveSessionKeys(client.privateKey, secret.subarray(0, 143))).toThrow(
      expect.objectContaining({ code: 'BAD_LENGTH' }),
    );
    const lowOrder = secret.slice();
    lowOrder.fill(0, 0, 32);
    expect(() => deriveSessionKeys(client.privateKey, lowOrder)).toThrow(
      expect.objectContaining({ code: 'BAD_SECRET' }),
    );
  });
});

describe('challenge and logout token (docs/protocol.md §2.5, 2.7)', () => {
  it('answers a challenge with HMAC-SHA256(macKey, challenge)', () => {
    const macKey = randomBytes(32);
    const challenge = randomBytes(32);
    expect(toHex(challengeAnswer(macKey, challenge))).toBe(toHex(hmacSha256(macKey, challenge)));
    expect(toHex(challengeAnswer(randomBytes(32), challenge))).not.toBe(
      toHex(challengeAnswer(macKey, challenge)),
    );
  });

  it('makes the offline logout token HMAC-SHA256(macKey, encKey)', () => {
    const keys = { encKey: randomBytes(32), macKey: randomBytes(32) };
    expect(toHex(offlineLogoutToken(keys))).toBe(toHex(hmacSha256(keys.macKey, keys.encKey)));
    expect(() => offlineLogoutToken({ encKey: new Uint8Array(3), macKey: keys.macKey })).toThrow(
      expect.objectContaining({ code: 'BAD_KEY_LENGTH' }),
    );
  });
});
