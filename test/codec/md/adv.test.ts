import { describe, expect, it } from 'vitest';
import { md } from '../../../codec/index.ts';
import { hmacSha256, toHex, x25519KeyPair } from '../../../crypto/index.ts';
import { xeddsaSign, xeddsaVerify } from '../../../crypto/md/index.ts';
import { hex, keyPair, pairCodeVectors, pairingVectors } from '../../support/md-vectors.ts';

const pairing = pairingVectors();
const { adv } = pairing;
const companion = keyPair(pairing.keys.companionIdentity);
const primary = keyPair(pairing.keys.primaryIdentity);
const advSecret = hex(pairing.keys.advSecret.hex);

function advFailure(run: () => unknown): md.AdvFailure | null {
  try {
    run();
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(md.AdvError);
    return (error as md.AdvError).code;
  }
}

/** A container around `signed`, MACed correctly for its outer account type. */
function container(signed: Uint8Array, accountType = 0, secret = advSecret): Uint8Array {
  const prefix = accountType === 1 ? Uint8Array.of(6, 5) : new Uint8Array(0);
  return md.encodeAdvSignedDeviceIdentityHmac({
    details: signed,
    hmac: hmacSha256(secret, prefix, signed),
    accountType,
  });
}

describe('companion: verifying pair-success (pairing.json adv)', () => {
  it('accepts the vector, countersigns, and builds the reply without accountSignatureKey', () => {
    const result = md.verifyPairSuccess({
      container: hex(adv.container.bytes),
      advSecret,
      identity: companion,
    });
    expect(result.deviceIdentity).toEqual(md.decodeAdvDeviceIdentity(hex(adv.deviceIdentity.bytes)));
    expect(result.deviceIdentity).toMatchObject({ rawId: adv.inputs.rawId, timestamp: adv.inputs.timestamp });
    expect(result.keyIndex).toBe(adv.inputs.keyIndex);
    expect(toHex(result.accountSignatureKey)).toBe(pairing.keys.primaryIdentity.public);
    expect(
      xeddsaVerify(companion.publicKey, hex(adv.deviceSignature.message), result.account.deviceSignature),
    ).toBe(true);
    const reply = md.decodeAdvSignedDeviceIdentity(result.reply);
    expect(reply.accountSignatureKey).toBeUndefined();
    // Our reply is the vector's, but for our own (randomized) device signature.
    const vectorReply = md.decodeAdvSignedDeviceIdentity(hex(adv.pairDeviceSign.signedDeviceIdentity));
    expect({ ...reply, deviceSignature: vectorReply.deviceSignature }).toEqual(vectorReply);
    expect(
      toHex(md.encodeAdvSignedDeviceIdentity({ ...reply, deviceSignature: vectorReply.deviceSignature })),
    ).toBe(adv.pairDeviceSign.signedDeviceIdentity);
    // What to persist keeps the key.
    expect(toHex(result.account.accountSignatureKey)).toBe(pairing.keys.primaryIdentity.public);
  });

  it.each(pairing.hosted.cases)('hosted: $label', (c) => {
    const result = md.verifyPairSuccess({ container: hex(c.container), advSecret, identity: companion });
    expect(result.deviceIdentity).toMatchObject({ accountType: c.accountType, deviceType: c.deviceType });
    expect(
      xeddsaVerify(companion.publicKey, hex(c.deviceSignatureMessage), result.account.deviceSignature),
    ).toBe(true);
  });

  it('the account-signature prefix follows the inner deviceType, the HMAC prefix the outer accountType', () => {
    // Hosted inner identity in an E2EE container: HMAC without prefix, signature still 06 05.
    const hostedInner = pairing.hosted.cases.find((c) => c.deviceType === 1)!;
    const e2eeOuter = container(hex(hostedInner.signedDeviceIdentity), 0);
    expect(
      advFailure(() => md.verifyPairSuccess({ container: e2eeOuter, advSecret, identity: companion })),
    ).toBeNull();
    // The hosted container MACed without the prefix does not pass.
    const unprefixed = md.encodeAdvSignedDeviceIdentityHmac({
      details: hex(hostedInner.signedDeviceIdentity),
      hmac: hmacSha256(advSecret, hex(hostedInner.signedDeviceIdentity)),
      accountType: 1,
    });
    expect(
      advFailure(() => md.verifyPairSuccess({ container: unprefixed, advSecret, identity: companion })),
    ).toBe('HMAC_MISMATCH');
  });

  it('the pair-code flow: the container MACed with the derived adv secret', () => {
    const v = pairCodeVectors().pairSuccessWithDerivedSecret;
    const accepted = () =>
      md.verifyPairSuccess({ container: hex(v.container), advSecret: hex(v.hmacKey), identity: companion });
    expect(advFailure(accepted)).toBeNull();
    expect(
      advFailure(() => md.verifyPairSuccess({ container: hex(v.container), advSecret, identity: companion })),
    ).toBe('HMAC_MISMATCH');
  });

  it('each failure has its own reason and maps to the error answer', () => {
    const verify = (bytes: Uint8Array, identity = companion, secret = advSecret) =>
      advFailure(() => md.verifyPairSuccess({ container: bytes, advSecret: secret, identity }));
    const good = hex(adv.container.bytes);
    const signed = hex(adv.signedDeviceIdentity.bytes);

    expect(verify(good, companion, new Uint8Array(32))).toBe('HMAC_MISMATCH');
    const flippedMac = md.decodeAdvSignedDeviceIdentityHmac(good);
    flippedMac.hmac![0]! ^= 1;
    expect(verify(md.encodeAdvSignedDeviceIdentityHmac(flippedMac))).toBe('HMAC_MISMATCH');
    const relabelled = { ...md.decodeAdvSignedDeviceIdentityHmac(good), accountType: 1 };
    expect(verify(md.encodeAdvSignedDeviceIdentityHmac(relabelled))).toBe('HMAC_MISMATCH');

    const flippedSignatures = adv.accountSignature.invalid.filter(
      (t) => !t.verifyWith && t.message === adv.accountSignature.message,
    );
    expect(flippedSignatures).toHaveLength(1);
    for (const tampered of flippedSignatures) {
      const inner = {
        ...md.decodeAdvSignedDeviceIdentity(signed),
        accountSignature: hex(tampered.signature),
      };
      expect(verify(container(md.encodeAdvSignedDeviceIdentity(inner)))).toBe('ACCOUNT_SIGNATURE_MISMATCH');
    }
    expect(verify(good, x25519KeyPair())).toBe('ACCOUNT_SIGNATURE_MISMATCH');
    const otherKey = {
      ...md.decodeAdvSignedDeviceIdentity(signed),
      accountSignatureKey: x25519KeyPair().publicKey,
    };
    expect(verify(container(md.encodeAdvSignedDeviceIdentity(otherKey)))).toBe('ACCOUNT_SIGNATURE_MISMATCH');
    const hostedDetails = {
      ...md.decodeAdvSignedDeviceIdentity(signed),
      details: md.encodeAdvDeviceIdentity({
        ...md.decodeAdvDeviceIdentity(hex(adv.deviceIdentity.bytes)),
        deviceType: 1,
      }),
    };
    expect(verify(container(md.encodeAdvSignedDeviceIdentity(hostedDetails)))).toBe(
      'ACCOUNT_SIGNATURE_MISMATCH',
    );

    expect(verify(Uint8Array.of(0x0a, 0x05))).toBe('MALFORMED');
    expect(verify(md.encodeAdvSignedDeviceIdentityHmac({ details: signed }))).toBe('MALFORMED');
    expect(verify(container(Uint8Array.of(0x0a, 0x40)))).toBe('MALFORMED');
    expect(
      verify(container(md.encodeAdvSignedDeviceIdentity({ details: hex(adv.deviceIdentity.bytes) }))),
    ).toBe('MALFORMED');

    const reasons = (['HMAC_MISMATCH', 'ACCOUNT_SIGNATURE_MISMATCH', 'MALFORMED'] as const).map((code) =>
      md.pairErrorFor(new md.AdvError(code, '')),
    );
    expect(reasons).toEqual([
      { code: 401, text: 'hmac-mismatch' },
      { code: 401, text: 'signature-mismatch' },
      { code: 500, text: 'internal-error' },
    ]);
  });
});

describe('phone: building pair-success, verifying pair-device-sign', () => {
  it('builds the vector device identity; the companion accepts the container', () => {
    const built = md.buildPairSuccessIdentity({
      primaryIdentity: primary,
      companionIdentityPublicKey: companion.publicKey,
      advSecret,
      device: adv.inputs,
    });
    expect(toHex(built.details)).toBe(adv.deviceIdentity.bytes);
    const signed = md.decodeAdvSignedDeviceIdentity(built.signedIdentity);
    expect(toHex(signed.accountSignatureKey!)).toBe(pairing.keys.primaryIdentity.public);
    expect(xeddsaVerify(primary.publicKey, hex(adv.accountSignature.message), signed.accountSignature!)).toBe(
      true,
    );
    const outer = md.decodeAdvSignedDeviceIdentityHmac(built.container);
    expect(outer.accountType).toBe(0);
    expect(toHex(outer.hmac!)).toBe(toHex(hmacSha256(advSecret, built.signedIdentity)));
    const result = md.verifyPairSuccess({ container: built.container, advSecret, identity: companion });
    const reply = md.verifyPairDeviceSign({
      reply: result.reply,
      keyIndexAttribute: String(result.keyIndex),
      expectedDetails: built.details,
      companionIdentityPublicKey: companion.publicKey,
      primaryIdentityPublicKey: primary.publicKey,
    });
    expect(reply.keyIndex).toBe(adv.inputs.keyIndex);
  });

  it.each(pairing.hosted.cases)('builds the hosted identity ($label) the companion accepts', (c) => {
    const built = md.buildPairSuccessIdentity({
      primaryIdentity: primary,
      companionIdentityPublicKey: companion.publicKey,
      advSecret,
      device: { ...adv.inputs, accountType: c.accountType, deviceType: c.deviceType },
      accountType: c.accountType,
    });
    expect(toHex(built.details)).toBe(c.deviceIdentity);
    const signed = md.decodeAdvSignedDeviceIdentity(built.signedIdentity);
    expect(xeddsaVerify(primary.publicKey, hex(c.accountSignatureMessage), signed.accountSignature!)).toBe(
      true,
    );
    expect(
      advFailure(() => md.verifyPairSuccess({ container: built.container, advSecret, identity: companion })),
    ).toBeNull();
  });

  it('verifies the vector pair-device-sign, and rejects each tamper on its own', () => {
    const base = {
      reply: hex(adv.pairDeviceSign.signedDeviceIdentity),
      keyIndexAttribute: '5',
      expectedDetails: hex(adv.deviceIdentity.bytes),
      companionIdentityPublicKey: companion.publicKey,
      primaryIdentityPublicKey: primary.publicKey,
    };
    expect(toHex(md.verifyPairDeviceSign(base).deviceSignature)).toBe(adv.deviceSignature.signature);
    const check = (changes: Partial<typeof base>) =>
      advFailure(() => md.verifyPairDeviceSign({ ...base, ...changes }));
    expect(check({ keyIndexAttribute: '4' })).toBe('KEY_INDEX_MISMATCH');
    expect(check({ keyIndexAttribute: undefined })).toBe('KEY_INDEX_MISMATCH');
    expect(check({ keyIndexAttribute: '5x' })).toBe('KEY_INDEX_MISMATCH');
    expect(check({ expectedDetails: hex(pairing.hosted.cases[0]!.deviceIdentity) })).toBe('DETAILS_MISMATCH');
    const decoded = md.decodeAdvSignedDeviceIdentity(base.reply);
    const forged = md.encodeAdvSignedDeviceIdentity({
      ...decoded,
      deviceSignature: hex(adv.deviceSignature.invalidExample.signature),
    });
    expect(check({ reply: forged })).toBe('DEVICE_SIGNATURE_MISMATCH');
    expect(check({ companionIdentityPublicKey: x25519KeyPair().publicKey })).toBe(
      'DEVICE_SIGNATURE_MISMATCH',
    );
    expect(check({ primaryIdentityPublicKey: x25519KeyPair().publicKey })).toBe('DEVICE_SIGNATURE_MISMATCH');
    // A device signature under the hosted device prefix 06 06 is not what a companion sends.
    const hostedPrefixed = xeddsaSign(
      companion.privateKey,
      hex(`0606${adv.deviceSignature.message.slice(4)}`),
    );
    expect(
      check({ reply: md.encodeAdvSignedDeviceIdentity({ ...decoded, deviceSignature: hostedPrefixed }) }),
    ).toBe('DEVICE_SIGNATURE_MISMATCH');
    expect(check({ reply: Uint8Array.of(0xff) })).toBe('MALFORMED');
    expect(check({ reply: md.encodeAdvSignedDeviceIdentity({ details: decoded.details! }) })).toBe(
      'MALFORMED',
    );
  });
});
