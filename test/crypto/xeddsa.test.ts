import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, x25519KeyPair, x25519PublicKey } from '../../crypto/index.ts';
import { xeddsaSign, xeddsaVerify } from '../../crypto/md/index.ts';
import { hex, noiseVectors, pairingVectors } from '../support/md-vectors.ts';

const pairing = pairingVectors();
const noise = noiseVectors();

interface Case {
  name: string;
  key: string;
  message: string;
  signature: string;
  valid: boolean;
}

function vectorCases(): Case[] {
  const cases: Case[] = [];
  const account = pairing.adv.accountSignature;
  for (const [i, v] of account.valid.entries()) {
    cases.push({
      name: `account signature ${i}`,
      key: account.verifyWith,
      message: account.message,
      signature: v.signature,
      valid: v.valid,
    });
  }
  for (const v of account.invalid) {
    cases.push({
      name: `account signature tampered: ${v.what}`,
      key: v.verifyWith ?? account.verifyWith,
      message: v.message ?? account.message,
      signature: v.signature,
      valid: v.valid,
    });
  }
  const device = pairing.adv.deviceSignature;
  cases.push({
    name: 'device signature',
    key: device.verifyWith,
    message: device.message,
    signature: device.signature,
    valid: device.valid,
  });
  cases.push({
    name: 'device signature tampered',
    key: device.verifyWith,
    message: device.message,
    ...device.invalidExample,
  });
  const spk = pairing.keyEncodings.signedPreKeySignature;
  cases.push({ name: 'signed pre-key', key: pairing.keys.companionIdentity.public, ...spk });
  for (const hosted of pairing.hosted.cases) {
    cases.push({
      name: `hosted account signature (${hosted.label})`,
      key: pairing.keys.primaryIdentity.public,
      message: hosted.accountSignatureMessage,
      signature: hosted.accountSignature,
      valid: true,
    });
    cases.push({
      name: `hosted device signature (${hosted.label})`,
      key: pairing.keys.companionIdentity.public,
      message: hosted.deviceSignatureMessage,
      signature: hosted.deviceSignature,
      valid: true,
    });
  }
  for (const t of noise.transcripts) {
    const chain = t.decrypted.certChainDecoded;
    cases.push({
      name: `${t.id} intermediate signed by root`,
      key: chain.rootPublicKey,
      message: chain.intermediate.details,
      signature: chain.intermediate.signature,
      valid: true,
    });
    cases.push({
      name: `${t.id} leaf signed by intermediate`,
      key: chain.intermediate.detailsDecoded.key as string,
      message: chain.leaf.details,
      signature: chain.leaf.signature,
      valid: true,
    });
  }
  return cases;
}

describe('XEdDSA against the vectors (pairing.json, noise-xx.json)', () => {
  const cases = vectorCases();

  it('has both valid and tampered cases', () => {
    expect(cases.filter((c) => c.valid)).toHaveLength(14);
    expect(cases.filter((c) => !c.valid)).toHaveLength(5);
  });

  it.each(cases)('$name → $valid', (c) => {
    expect(xeddsaVerify(hex(c.key), hex(c.message), hex(c.signature))).toBe(c.valid);
  });

  it('the companion signs the signed pre-key (05 ‖ spk) the way the vectors verify', () => {
    const spk = pairing.keyEncodings.signedPreKeySignature;
    const own = xeddsaSign(hex(pairing.keys.companionIdentity.private), hex(spk.message));
    expect(xeddsaVerify(hex(pairing.keys.companionIdentity.public), hex(spk.message), own)).toBe(true);
  });
});

describe('XEdDSA properties', () => {
  it('sign → verify; any single bit flipped in the message or the signature → false', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        fc.nat(),
        (privateKey, message, random, flip) => {
          const publicKey = x25519PublicKey(privateKey);
          const signature = xeddsaSign(privateKey, message, random);
          expect(signature).toHaveLength(64);
          expect(xeddsaVerify(publicKey, message, signature)).toBe(true);

          const badSignature = signature.slice();
          const bit = flip % 512;
          badSignature[bit >> 3]! ^= 1 << (bit & 7);
          expect(xeddsaVerify(publicKey, message, badSignature)).toBe(false);

          if (message.length > 0) {
            const badMessage = message.slice();
            const mbit = flip % (message.length * 8);
            badMessage[mbit >> 3]! ^= 1 << (mbit & 7);
            expect(xeddsaVerify(publicKey, badMessage, signature)).toBe(false);
          }
          expect(xeddsaVerify(publicKey, concatBytes(message, Uint8Array.of(0)), signature)).toBe(false);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a signature does not verify under another key', () => {
    const a = x25519KeyPair();
    const b = x25519KeyPair();
    const message = new Uint8Array([1, 2, 3]);
    expect(xeddsaVerify(b.publicKey, message, xeddsaSign(a.privateKey, message))).toBe(false);
  });

  it('is randomized: two signatures of the same message differ and both verify', () => {
    const a = x25519KeyPair();
    const message = new Uint8Array([7]);
    const one = xeddsaSign(a.privateKey, message);
    const two = xeddsaSign(a.privateKey, message);
    expect(one).not.toEqual(two);
    expect(xeddsaVerify(a.publicKey, message, one) && xeddsaVerify(a.publicKey, message, two)).toBe(true);
  });

  it('verify never throws: wrong lengths, non-bytes and off-curve keys are false', () => {
    const a = x25519KeyPair();
    const message = new Uint8Array([1]);
    const signature = xeddsaSign(a.privateKey, message);
    expect(xeddsaVerify(a.publicKey.subarray(0, 31), message, signature)).toBe(false);
    expect(xeddsaVerify(concatBytes(Uint8Array.of(5), a.publicKey), message, signature)).toBe(false);
    expect(xeddsaVerify(a.publicKey, message, signature.subarray(0, 63))).toBe(false);
    expect(xeddsaVerify(a.publicKey, message, new Uint8Array(65))).toBe(false);
    expect(xeddsaVerify(a.publicKey, 'text' as never, signature)).toBe(false);
    expect(xeddsaVerify(null as never, message, signature)).toBe(false);
    expect(xeddsaVerify(new Uint8Array(32).fill(0xff), message, signature)).toBe(false);
    // u = p - 1 has no Edwards image.
    const pMinus1 = hex('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
    expect(xeddsaVerify(pMinus1, message, signature)).toBe(false);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 70 }), (key, sig) => {
        expect(typeof xeddsaVerify(key, message, sig)).toBe('boolean');
      }),
      { numRuns: 200 },
    );
  });
});
