// jsonSafe over what the MD companion machine holds: the inspector and `--json` print its context and
// events, so every MD secret is redacted however deep it sits, and bytes that are not secret stay base64.
import { describe, expect, it } from 'vitest';
import { jsonSafe } from '../../codec/index.ts';
import { FINISHED, mdHarness, PREPARED, toCodeShown, toPairing } from '../support/md-machine-fakes.ts';

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

describe('jsonSafe and the MD machine', () => {
  it('redacts the private keys, the adv secret and app-state key data, and keeps the rest', async () => {
    const h = mdHarness({ prepare: PREPARED, finish: FINISHED });
    toPairing(h);
    await toCodeShown(h);
    h.send({
      type: 'server.primaryHello',
      id: 'n',
      from: 's.whatsapp.net',
      ref: '3@code-ref',
      wrappedPrimaryEphemeral: new Uint8Array(80),
      primaryIdentityPublic: new Uint8Array(32),
    });
    await h.flush();
    const context = h.context();
    const printed = JSON.stringify(jsonSafe(context));
    const secrets = [
      context.credentials.noiseKey.privateKey,
      context.credentials.identityKey.privateKey,
      context.credentials.signedPreKey.keyPair.privateKey,
      context.credentials.advSecret,
      context.prepared!.ephemeral.privateKey,
    ];
    for (const secret of secrets) expect(printed).not.toContain(base64(secret));
    expect(jsonSafe(context)).toMatchObject({
      credentials: {
        noiseKey: { privateKey: '[redacted]', publicKey: base64(context.credentials.noiseKey.publicKey) },
        advSecret: '[redacted]',
      },
      prepared: { ephemeral: { privateKey: '[redacted]' } },
    });
    const share = {
      keys: [{ keyId: { keyId: new Uint8Array([1, 2]) }, keyData: { keyData: new Uint8Array(32).fill(9) } }],
    };
    expect(jsonSafe(share)).toEqual({ keys: [{ keyId: { keyId: 'AQI=' }, keyData: '[redacted]' }] });
  });
});
