// The pairing procedures (actors/md/pairing.ts) on the public MD vectors (test/fixtures/vectors/md/
// pairing.json, pair-code.json): pair-success verified and countersigned, each tampered case typed as its
// error IQ, the hosted prefixes, and the pair-code stages byte for byte (docs/protocol-md.md §6.5-§7.5).
import { describe, expect, it } from 'vitest';
import {
  finishPairCode,
  formatPairCode,
  isStanzaError,
  normalizePhone,
  PairingError,
  parseStanza,
  preparePairCode,
  verifyPairSuccess,
} from '../../../actors/md/index.ts';
import { md } from '../../../codec/index.ts';
import { hmacSha256, x25519KeyPair } from '../../../crypto/index.ts';
import { xeddsaSign, xeddsaVerify } from '../../../crypto/md/index.ts';
import { hex, keyPair, pairCodeVectors, pairingVectors } from '../../support/md-vectors.ts';

const pv = pairingVectors();
/** Fields of pairing.json the shared vector type does not name. */
const advExtra = pv.adv as unknown as {
  inputs: { deviceJid: string; lid: string };
  pairSuccessNodeHexV2: string;
};
const companion = { identityKey: keyPair(pv.keys.companionIdentity), advSecret: hex(pv.keys.advSecret.hex) };
const PRIMARY = hex(pv.keys.primaryIdentity.public);

function pairSuccessEvent(container: Uint8Array) {
  return {
    deviceIdentity: container,
    jid: advExtra.inputs.deviceJid,
    lid: advExtra.inputs.lid,
    platform: 'android',
    businessName: null,
  };
}

/** A container over `signed` with a correct HMAC: only the signatures inside are under test. */
function container(signed: md.AdvSignedDeviceIdentity, advSecret = companion.advSecret): Uint8Array {
  const details = md.encodeAdvSignedDeviceIdentity(signed);
  return md.encodeAdvSignedDeviceIdentityHmac({
    details,
    hmac: hmacSha256(advSecret, details),
    accountType: 0,
  });
}

describe('verifyPairSuccess', () => {
  it('accepts the vector pair-success parsed from its v2 bytes, and countersigns as §6.6 says', () => {
    const node = md.decodeMdNode(hex(advExtra.pairSuccessNodeHexV2), 2);
    const parsed = parseStanza(node, () => undefined);
    expect(parsed.type).toBe('server.pairSuccess');
    if (parsed.type !== 'server.pairSuccess') return;
    expect(parsed).toMatchObject({
      iqId: 'srv-ps-1',
      platform: 'android',
      jid: '15551234567:3@s.whatsapp.net',
    });
    expect(parsed.deviceIdentity).toEqual(hex(pv.adv.container.bytes));

    const verdict = verifyPairSuccess(parsed, companion);
    expect(verdict.ok).toBe(true);
    if (!verdict.ok) return;
    expect(verdict.keyIndex).toBe(5);
    expect(verdict.primaryIdentityPublic).toEqual(PRIMARY);
    expect(verdict.me).toEqual({ jid: '15551234567:3@s.whatsapp.net', lid: '123456789012345:3@lid' });
    // The reply: the vector's details and account signature, no accountSignatureKey, our device signature.
    const reply = md.decodeAdvSignedDeviceIdentity(verdict.deviceIdentity);
    const expected = md.decodeAdvSignedDeviceIdentity(hex(pv.adv.pairDeviceSign.signedDeviceIdentity));
    expect(reply.details).toEqual(expected.details);
    expect(reply.accountSignature).toEqual(expected.accountSignature);
    expect(reply.accountSignatureKey ?? new Uint8Array(0)).toHaveLength(0);
    const deviceMessage = hex(pv.adv.deviceSignature.message);
    expect(xeddsaVerify(companion.identityKey.publicKey, deviceMessage, reply.deviceSignature!)).toBe(true);
    // Baileys' signature over the same message verifies too: the message is the one §6.5 step 5 names.
    expect(
      xeddsaVerify(companion.identityKey.publicKey, deviceMessage, hex(pv.adv.deviceSignature.signature)),
    ).toBe(true);
    const account = md.decodeAdvSignedDeviceIdentity(verdict.account);
    expect(account.accountSignatureKey).toEqual(PRIMARY);
    expect(account.deviceSignature).toEqual(reply.deviceSignature);
  });

  it('answers a wrong HMAC with 401 hmac-mismatch', () => {
    const bytes = hex(pv.adv.container.bytes);
    bytes[bytes.length - 5]! ^= 1;
    expect(verifyPairSuccess(pairSuccessEvent(bytes), companion)).toEqual({
      ok: false,
      code: 401,
      text: 'hmac-mismatch',
    });
    // The right container under another adv secret (a QR drawn before a pair code's stage 3, §7.7).
    const other = { ...companion, advSecret: new Uint8Array(32).fill(9) };
    expect(verifyPairSuccess(pairSuccessEvent(hex(pv.adv.container.bytes)), other)).toMatchObject({
      text: 'hmac-mismatch',
    });
  });

  it.each(pv.adv.accountSignature.invalid.map((vector) => [vector.what!, vector] as const))(
    'answers the tampered account signature "%s" with 401 signature-mismatch',
    (what, vector) => {
      const verifyWith = vector.verifyWith ? hex(vector.verifyWith) : PRIMARY;
      expect(xeddsaVerify(verifyWith, hex(vector.message!), hex(vector.signature))).toBe(false);
      const signed = md.decodeAdvSignedDeviceIdentity(hex(pv.adv.signedDeviceIdentity.bytes));
      const tampered = { ...signed } as Required<Pick<md.AdvSignedDeviceIdentity, 'details'>> &
        md.AdvSignedDeviceIdentity;
      let identityKey = companion.identityKey;
      if (what.startsWith('signature')) tampered.accountSignature = hex(vector.signature);
      else if (what.startsWith('verified with')) tampered.accountSignatureKey = verifyWith;
      else if (what.startsWith('message')) {
        // The phone signed for another companion key than ours: the last byte of the message differs.
        const other = identityKey.publicKey.slice();
        other[31]! ^= 1;
        expect(md.accountSignatureMessage(signed.details!, 0, other)).toEqual(hex(vector.message!));
        identityKey = { ...identityKey, publicKey: other };
      } else {
        // A prefix of the wrong account type: an inner deviceType HOSTED signed with 06 00 instead of 06 05.
        const hosted = pv.hosted.cases.find((c) => c.deviceType === 1)!;
        const details = hex(hosted.deviceIdentity);
        expect(md.accountSignatureMessage(signed.details!, 1, companion.identityKey.publicKey)).toEqual(
          hex(vector.message!),
        );
        tampered.details = details;
        tampered.accountSignature = xeddsaSign(
          hex(pv.keys.primaryIdentity.private),
          md.accountSignatureMessage(details, 0, companion.identityKey.publicKey),
        );
      }
      expect(verifyPairSuccess(pairSuccessEvent(container(tampered)), { ...companion, identityKey })).toEqual(
        {
          ok: false,
          code: 401,
          text: 'signature-mismatch',
        },
      );
    },
  );

  it('answers a container that does not decode, or an unusable JID, with 500 internal-error', () => {
    const garbage = verifyPairSuccess(pairSuccessEvent(Uint8Array.of(0x0a, 0xff, 1)), companion);
    expect(garbage).toEqual({ ok: false, code: 500, text: 'internal-error' });
    const event = { ...pairSuccessEvent(hex(pv.adv.container.bytes)), jid: '15551234567@s.whatsapp.net' };
    expect(verifyPairSuccess(event, companion)).toEqual({ ok: false, code: 500, text: 'internal-error' });
  });

  it.each(pv.hosted.cases.map((hosted) => [hosted.label, hosted] as const))(
    'verifies the hosted case "%s" with its HMAC and account-signature prefixes',
    (_label, hosted) => {
      const verdict = verifyPairSuccess(pairSuccessEvent(hex(hosted.container)), companion);
      expect(verdict.ok).toBe(true);
      if (!verdict.ok) return;
      const reply = md.decodeAdvSignedDeviceIdentity(verdict.deviceIdentity);
      // The device signature is always 06 01 (§6.5 step 5), whatever the account type.
      expect(
        xeddsaVerify(
          companion.identityKey.publicKey,
          hex(hosted.deviceSignatureMessage),
          reply.deviceSignature!,
        ),
      ).toBe(true);
    },
  );
});

describe('pair code', () => {
  const pc = pairCodeVectors();

  it('validates the phone number before anything is sent (§7.1)', () => {
    expect(normalizePhone('+49 170 1234-567')).toBe('491701234567');
    for (const bad of ['0170123456', '12345', '49abc1234567', '', '1234567890123456']) {
      expect(() => normalizePhone(bad)).toThrow(PairingError);
    }
    expect(formatPairCode('ABCD1234')).toBe('ABCD-1234');
  });

  it('stage 1 wraps the pairing ephemeral byte for byte', async () => {
    const inputs = pc.companionHello.inputs;
    const prepared = await preparePairCode(
      { phone: '15551234567' },
      {
        code: inputs.code,
        ephemeral: keyPair(inputs.companionPairingEphemeral),
        randomness: { salt: hex(inputs.salt), iv: hex(inputs.iv) },
      },
    );
    expect(prepared.display).toBe('ABCD-1234');
    expect(prepared.wrappedEphemeral).toEqual(hex(pc.companionHello.wrapped));
  });

  it('draws a fresh code and ephemeral per request', async () => {
    const [a, b] = await Promise.all([
      preparePairCode({ phone: '15551234567' }),
      preparePairCode({ phone: '15551234567' }),
    ]);
    expect(a.code).toMatch(/^[1-9A-HJ-NP-TV-Z]{8}$/);
    expect(a.ephemeral.publicKey).not.toEqual(b.ephemeral.publicKey);
  });

  it('stage 3 seals the key bundle and derives the adv secret of the vectors; pair-success then verifies', async () => {
    const finished = await finishPairCode(
      {
        primaryHello: {
          ref: '3@ref',
          wrappedPrimaryEphemeral: hex(pc.primaryHello.wrapped),
          primaryIdentityPublic: hex(pc.primaryHello.inputs.primaryIdentity.public),
        },
        prepared: {
          code: 'ABCD1234',
          ephemeral: keyPair(pc.companionHello.inputs.companionPairingEphemeral),
        },
      },
      { identityKey: companion.identityKey },
      {
        salt: hex(pc.keyBundle.hkdf.salt),
        nonce: hex(pc.keyBundle.gcm.nonce),
        advRandom: hex(pc.keyBundle.advRandom),
      },
    );
    expect(finished.wrappedKeyBundle).toEqual(hex(pc.keyBundle.wrappedKeyBundle));
    expect(finished.advSecret).toEqual(hex(pc.advSecret.hkdf.okm));
    expect(finished).toMatchObject({ ref: '3@ref', identityPublic: companion.identityKey.publicKey });
    const event = pairSuccessEvent(hex(pc.pairSuccessWithDerivedSecret.container));
    expect(verifyPairSuccess(event, { ...companion, advSecret: finished.advSecret }).ok).toBe(true);
    // The QR's adv secret no longer pairs (§7.7).
    expect(verifyPairSuccess(event, companion)).toMatchObject({ ok: false, text: 'hmac-mismatch' });
  });

  it('refuses a primary_hello of the wrong shape with a typed error', async () => {
    const prepared = { code: 'ABCD1234', ephemeral: x25519KeyPair() };
    const short = {
      ref: 'r',
      wrappedPrimaryEphemeral: new Uint8Array(79),
      primaryIdentityPublic: new Uint8Array(32),
    };
    await expect(finishPairCode({ primaryHello: short, prepared }, companion)).rejects.toMatchObject({
      code: 'BAD_PRIMARY_HELLO',
    });
    expect(isStanzaError(new PairingError('BAD_PHONE', 'x'))).toBe(false);
  });
});
