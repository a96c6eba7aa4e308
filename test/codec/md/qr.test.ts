import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecError, md } from '../../../codec/index.ts';
import { toBase64 } from '../../../crypto/index.ts';
import { hex, pairingVectors } from '../../support/md-vectors.ts';

const pairing = pairingVectors();
const { qr, keys } = pairing;
const payload = {
  ref: qr.baileys61716.refs[0]!,
  noisePublicKey: hex(keys.companionNoiseStatic.public),
  identityPublicKey: hex(keys.companionIdentity.public),
  advSecret: hex(keys.advSecret.hex),
};

function qrFailure(text: string): string {
  try {
    md.parseMdQr(text);
  } catch (error) {
    expect(error).toBeInstanceOf(CodecError);
    return (error as CodecError).code;
  }
  return 'parsed';
}

describe('MD QR string (pairing.json qr)', () => {
  it.each(qr.baileysHead.strings)(
    'builds the 5-field prefixed form for $browser',
    ({ companionPlatformId, qr: text }) => {
      expect(md.buildMdQr({ ...payload, clientType: companionPlatformId })).toBe(text);
      const parsed = md.parseMdQr(text);
      expect(parsed).toEqual({ ...payload, clientType: companionPlatformId, fields: 5, prefixed: true });
    },
  );

  it('uses the vectors prefix and the client-type table', () => {
    expect(md.QR_LINK_PREFIX).toBe(qr.baileysHead.prefix);
    expect(md.COMPANION_WEB_CLIENT_TYPE.CHROME).toBe('1');
    expect(md.COMPANION_WEB_CLIENT_TYPE.UWP).toBe('8');
    expect(md.buildMdQr(payload).endsWith(',9')).toBe(true);
  });

  it.each(qr.baileys61716.strings.map((text, i) => ({ text, ref: qr.baileys61716.refs[i]! })))(
    'parses the legacy 4-field form ($ref)',
    ({ text, ref }) => {
      expect(md.parseMdQr(text)).toEqual({ ...payload, ref, fields: 4, prefixed: false });
    },
  );

  it('accepts 5 fields without the prefix and a trailing FAQ link', () => {
    const bare = md.buildMdQr({ ...payload, clientType: '1' }, { prefix: false });
    expect(bare.startsWith(payload.ref)).toBe(true);
    expect(md.parseMdQr(bare)).toMatchObject({ fields: 5, prefixed: false, clientType: '1' });
    const faq = `${md.buildMdQr({ ...payload, clientType: '1' })},https://faq.whatsapp.com/r/ld`;
    expect(md.parseMdQr(faq)).toMatchObject({ fields: 5, prefixed: true, clientType: '1' });
    expect(md.parseMdQr(`${qr.baileys61716.strings[0]},https://faq.whatsapp.com/r/ld`)).toMatchObject({
      fields: 4,
    });
  });

  it('round-trips any keys and ref', () => {
    const key = fc.uint8Array({ minLength: 32, maxLength: 32 });
    fc.assert(
      fc.property(
        fc
          .string({ minLength: 1, maxLength: 60 })
          .filter((s) => !s.includes(',') && !s.startsWith('https://')),
        key,
        key,
        key,
        fc.constantFrom(...Object.values(md.COMPANION_WEB_CLIENT_TYPE)),
        fc.boolean(),
        (ref, noisePublicKey, identityPublicKey, advSecret, clientType, prefix) => {
          const built = md.buildMdQr(
            { ref, noisePublicKey, identityPublicKey, advSecret, clientType },
            { prefix },
          );
          expect(md.parseMdQr(built)).toEqual({
            ref,
            noisePublicKey,
            identityPublicKey,
            advSecret,
            clientType,
            fields: 5,
            prefixed: prefix,
          });
        },
      ),
    );
  });

  it('rejects malformed strings with BAD_QR', () => {
    const [ref, noise, identity, adv] = qr.baileys61716.strings[0]!.split(',') as [
      string,
      string,
      string,
      string,
    ];
    const short = toBase64(new Uint8Array(31));
    for (const bad of [
      '',
      `${ref},${noise},${identity}`,
      `${ref},${noise},${identity},${adv},1,extra`,
      `,${noise},${identity},${adv}`,
      `${ref},${noise.slice(1)},${identity},${adv}`,
      `${ref},${short},${identity},${adv}`,
      `${ref},${noise},${identity},${adv},12`,
      `${ref},${noise},${identity},${adv},Z`,
      `${md.QR_LINK_PREFIX}${ref},${noise}`,
    ]) {
      expect(qrFailure(bad), bad).toBe('BAD_QR');
    }
    expect(qrFailure(42 as never)).toBe('BAD_QR');
    expect(() => md.buildMdQr({ ...payload, ref: 'a,b' })).toThrow(CodecError);
    expect(() => md.buildMdQr({ ...payload, clientType: '10' })).toThrow(CodecError);
    expect(() => md.buildMdQr({ ...payload, advSecret: new Uint8Array(16) })).toThrow(CodecError);
  });
});
