import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CryptoError, toHex, x25519KeyPair, x25519SharedSecret } from '../../crypto/index.ts';
import {
  companionKeyBundle,
  deriveAdvSecret,
  derivePairCodeKey,
  keyBundleKey,
  normalizePairCode,
  openKeyBundle,
  PAIR_CODE_ALPHABET,
  PAIR_CODE_PBKDF2_ITERATIONS,
  pairCodeFromBytes,
  pairCodeToBytes,
  primaryOpenKeyBundle,
  randomPairCode,
  sealKeyBundle,
  unwrapPairingEphemeral,
  wrapPairingEphemeral,
} from '../../crypto/md/index.ts';
import { hex, keyPair, pairCodeVectors, pairingVectors } from '../support/md-vectors.ts';

const v = pairCodeVectors();
const keys = pairingVectors().keys;
const CODE = v.companionHello.inputs.code;

async function expectCode(run: () => unknown, code: string): Promise<void> {
  let caught: unknown;
  try {
    await run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(CryptoError);
  expect((caught as CryptoError).code).toBe(code);
}

describe('pair code alphabet (pair-code.json)', () => {
  it('uses the vectors alphabet and iteration count', () => {
    expect(PAIR_CODE_ALPHABET).toBe(v.alphabet);
    expect(PAIR_CODE_PBKDF2_ITERATIONS).toBe(v.pbkdf2.iterations);
  });

  it.each(v.codeVectors)('$bytes ↔ $code', ({ bytes, code }) => {
    expect(pairCodeFromBytes(hex(bytes))).toBe(code);
    expect(toHex(pairCodeToBytes(code))).toBe(bytes);
  });

  it('round-trips any 5 bytes and any 8 characters of the alphabet', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 5, maxLength: 5 }), (bytes) => {
        expect(pairCodeToBytes(pairCodeFromBytes(bytes))).toEqual(bytes);
      }),
    );
    const char = fc.constantFrom(...PAIR_CODE_ALPHABET.split(''));
    fc.assert(
      fc.property(fc.array(char, { minLength: 8, maxLength: 8 }), (chars) => {
        const code = chars.join('');
        expect(pairCodeFromBytes(pairCodeToBytes(code))).toBe(code);
      }),
    );
    expect(randomPairCode()).toMatch(/^[1-9A-HJ-NP-TV-Z]{8}$/);
  });

  it('bad codes are BAD_PAIR_CODE; what a person types is normalized', async () => {
    for (const bad of [
      'ABCD123',
      'ABCD12345',
      'ABCD1230',
      'ABCDI234',
      'ABCDO234',
      'ABCDU234',
      'abcd1234',
      '',
    ]) {
      await expectCode(() => pairCodeToBytes(bad), 'BAD_PAIR_CODE');
    }
    await expectCode(() => pairCodeToBytes(42 as never), 'BAD_PAIR_CODE');
    expect(normalizePairCode('abcd-1234')).toBe('ABCD1234');
    expect(normalizePairCode(' ABCD 1234 ')).toBe('ABCD1234');
    expect(normalizePairCode('ABCD1234')).toBe('ABCD1234');
    await expectCode(() => normalizePairCode('AB-CD1234'), 'BAD_PAIR_CODE');
    await expectCode(() => normalizePairCode('ABCD-123O'), 'BAD_PAIR_CODE');
    await expectCode(() => pairCodeFromBytes(new Uint8Array(4)), 'BAD_LENGTH');
  });
});

describe('PBKDF2-SHA256 ×131072', () => {
  it.each(v.pbkdf2.vectors)('$password with salt $salt', async ({ password, salt, key }) => {
    expect(toHex(await derivePairCodeKey(password, hex(salt)))).toBe(key);
  });

  it('runs off the event loop: timers keep firing while it derives', async () => {
    let ticks = 0;
    let done = false;
    const tick = (): void => {
      if (done) return;
      ticks++;
      setImmediate(tick);
    };
    setImmediate(tick);
    await derivePairCodeKey(CODE, new Uint8Array(32));
    done = true;
    expect(ticks).toBeGreaterThan(3);
  });

  it('refuses a bad code or salt before deriving', async () => {
    await expectCode(() => derivePairCodeKey('ABCD-1234', new Uint8Array(32)), 'BAD_PAIR_CODE');
    await expectCode(() => derivePairCodeKey(CODE, new Uint8Array(16)), 'BAD_LENGTH');
  });
});

describe('wrapping the pairing ephemerals (AES-256-CTR, salt32 ‖ iv16 ‖ ct32)', () => {
  it('companion_hello: the companion wraps its ephemeral', async () => {
    const { inputs } = v.companionHello;
    const wrapped = await wrapPairingEphemeral(CODE, hex(inputs.companionPairingEphemeral.public), {
      salt: hex(inputs.salt),
      iv: hex(inputs.iv),
    });
    expect(toHex(wrapped)).toBe(v.companionHello.wrapped);
    expect(toHex(wrapped.subarray(48))).toBe(v.companionHello.ciphertext);
  });

  it('the phone unwraps it, wraps its own; the companion unwraps that (primary_hello)', async () => {
    expect(toHex(await unwrapPairingEphemeral(CODE, hex(v.companionHello.wrapped)))).toBe(
      v.companionHello.inputs.companionPairingEphemeral.public,
    );
    const { inputs } = v.primaryHello;
    const wrapped = await wrapPairingEphemeral(CODE, hex(inputs.primaryPairingEphemeral.public), {
      salt: hex(inputs.salt),
      iv: hex(inputs.iv),
    });
    expect(toHex(wrapped)).toBe(v.primaryHello.wrapped);
    expect(toHex(await unwrapPairingEphemeral(CODE, wrapped))).toBe(inputs.primaryPairingEphemeral.public);
  });

  it('a wrong code unwraps to wrong bytes without an error (CTR has no tag)', async () => {
    const wrong = v.primaryHello.unwrapWithWrongCode;
    expect(toHex(await unwrapPairingEphemeral(wrong.code, hex(v.primaryHello.wrapped)))).toBe(
      wrong.unwrapped,
    );
  });

  it('wrapped ephemerals are exactly 80 bytes', async () => {
    await expectCode(() => unwrapPairingEphemeral(CODE, new Uint8Array(79)), 'BAD_LENGTH');
    await expectCode(() => unwrapPairingEphemeral(CODE, new Uint8Array(81)), 'BAD_LENGTH');
    await expectCode(() => wrapPairingEphemeral(CODE, new Uint8Array(33)), 'BAD_KEY_LENGTH');
  });
});

describe('key bundle and adv secret (both sides)', () => {
  const companionEphemeral = keyPair(v.companionHello.inputs.companionPairingEphemeral);
  const primaryEphemeral = keyPair(v.primaryHello.inputs.primaryPairingEphemeral);
  const companionIdentity = keyPair(keys.companionIdentity);
  const primaryIdentity = keyPair(keys.primaryIdentity);
  const randomness = {
    salt: hex(v.keyBundle.hkdf.salt),
    nonce: hex(v.keyBundle.gcm.nonce),
    advRandom: hex(v.keyBundle.advRandom),
  };

  it('the pieces: shared secret, bundle key, sealed bundle, adv secret', () => {
    const shared = x25519SharedSecret(companionEphemeral.privateKey, primaryEphemeral.publicKey);
    expect(toHex(shared)).toBe(v.keyBundle.ephemeralSharedSecret);
    expect(toHex(keyBundleKey(shared, randomness.salt))).toBe(v.keyBundle.hkdf.okm);
    const sealed = sealKeyBundle(
      shared,
      {
        companionIdentityPublicKey: companionIdentity.publicKey,
        primaryIdentityPublicKey: primaryIdentity.publicKey,
        advRandom: randomness.advRandom,
      },
      randomness,
    );
    expect(toHex(sealed)).toBe(v.keyBundle.wrappedKeyBundle);
    expect(toHex(sealed.subarray(44))).toBe(v.keyBundle.gcm.ciphertextWithTag);
    const opened = openKeyBundle(shared, sealed);
    expect(toHex(opened.advRandom)).toBe(v.keyBundle.advRandom);
    const identityShared = x25519SharedSecret(companionIdentity.privateKey, primaryIdentity.publicKey);
    expect(toHex(identityShared)).toBe(v.advSecret.identitySharedSecret);
    expect(toHex(deriveAdvSecret(shared, identityShared, randomness.advRandom))).toBe(v.advSecret.hkdf.okm);
  });

  it('companion: companion_finish bundle and the new adv secret', () => {
    const result = companionKeyBundle({
      companionEphemeralPrivateKey: companionEphemeral.privateKey,
      primaryEphemeralPublicKey: primaryEphemeral.publicKey,
      companionIdentity,
      primaryIdentityPublicKey: primaryIdentity.publicKey,
      randomness,
    });
    expect(toHex(result.wrappedKeyBundle)).toBe(v.keyBundle.wrappedKeyBundle);
    expect(toHex(result.advSecret)).toBe(v.advSecret.hkdf.okm);
    expect(toHex(result.advSecret)).toBe(v.pairSuccessWithDerivedSecret.hmacKey);
  });

  it('phone: opens the bundle, checks both identities, derives the same adv secret', () => {
    const result = primaryOpenKeyBundle({
      primaryEphemeralPrivateKey: primaryEphemeral.privateKey,
      companionEphemeralPublicKey: companionEphemeral.publicKey,
      primaryIdentity,
      wrappedKeyBundle: hex(v.keyBundle.wrappedKeyBundle),
      expectedCompanionIdentityPublicKey: companionIdentity.publicKey,
    });
    expect(toHex(result.companionIdentityPublicKey)).toBe(keys.companionIdentity.public);
    expect(toHex(result.advSecret)).toBe(v.advSecret.hkdf.okm);
  });

  it('a wrong code: the companion seals under the wrong ephemeral, the phone gets BAD_TAG', async () => {
    const wrongPrimary = await unwrapPairingEphemeral('ABCD1235', hex(v.primaryHello.wrapped));
    const { wrappedKeyBundle } = companionKeyBundle({
      companionEphemeralPrivateKey: companionEphemeral.privateKey,
      primaryEphemeralPublicKey: wrongPrimary,
      companionIdentity,
      primaryIdentityPublicKey: primaryIdentity.publicKey,
    });
    await expectCode(
      () =>
        primaryOpenKeyBundle({
          primaryEphemeralPrivateKey: primaryEphemeral.privateKey,
          companionEphemeralPublicKey: companionEphemeral.publicKey,
          primaryIdentity,
          wrappedKeyBundle,
        }),
      'BAD_TAG',
    );
  });

  it('a bundle naming other identities is BAD_KEY_BUNDLE; a bad length is BAD_LENGTH', async () => {
    const open = (wrappedKeyBundle: Uint8Array, expected?: Uint8Array, identity = primaryIdentity) =>
      primaryOpenKeyBundle({
        primaryEphemeralPrivateKey: primaryEphemeral.privateKey,
        companionEphemeralPublicKey: companionEphemeral.publicKey,
        primaryIdentity: identity,
        wrappedKeyBundle,
        ...(expected ? { expectedCompanionIdentityPublicKey: expected } : {}),
      });
    const bundle = hex(v.keyBundle.wrappedKeyBundle);
    await expectCode(() => open(bundle, x25519KeyPair().publicKey), 'BAD_KEY_BUNDLE');
    await expectCode(
      () => open(bundle, undefined, { ...primaryIdentity, publicKey: new Uint8Array(32) }),
      'BAD_KEY_BUNDLE',
    );
    await expectCode(() => open(bundle.subarray(1)), 'BAD_LENGTH');
  });

  it('fresh randomness: any two parties agree on the adv secret', () => {
    fc.assert(
      fc.property(fc.constant(null), () => {
        const ce = x25519KeyPair();
        const pe = x25519KeyPair();
        const ci = x25519KeyPair();
        const pi = x25519KeyPair();
        const companion = companionKeyBundle({
          companionEphemeralPrivateKey: ce.privateKey,
          primaryEphemeralPublicKey: pe.publicKey,
          companionIdentity: ci,
          primaryIdentityPublicKey: pi.publicKey,
        });
        const phone = primaryOpenKeyBundle({
          primaryEphemeralPrivateKey: pe.privateKey,
          companionEphemeralPublicKey: ce.publicKey,
          primaryIdentity: pi,
          wrappedKeyBundle: companion.wrappedKeyBundle,
          expectedCompanionIdentityPublicKey: ci.publicKey,
        });
        expect(phone.advSecret).toEqual(companion.advSecret);
      }),
      { numRuns: 10 },
    );
  });
});
