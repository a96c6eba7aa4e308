// jsonSafe, the one redaction of what printers and the page show: bytes as base64, secret fields hidden,
// the multi-device ones (private keys, the adv secret, app-state key data in a message event) included.
import { describe, expect, it } from 'vitest';
import { md } from '../../actors/index.ts';
import { jsonSafe } from '../../codec/index.ts';
import { randomBytes, toBase64 } from '../../crypto/index.ts';

describe('jsonSafe', () => {
  it('hides every secret of MD credentials and of an app-state key share event', () => {
    const credentials = md.generateMdCredentials();
    const keyData = randomBytes(32);
    const event = {
      type: 'server.message',
      id: 'X',
      content: {
        kind: 'appStateKeys',
        keys: [{ keyId: { keyId: randomBytes(6) }, keyData: { keyData, timestamp: 1 } }],
      },
      media: { type: 'image', mediaKey: randomBytes(32) },
    };
    const text = JSON.stringify(jsonSafe({ credentials, event }));
    for (const secret of [
      credentials.noiseKey.privateKey,
      credentials.identityKey.privateKey,
      credentials.signedPreKey.keyPair.privateKey,
      credentials.advSecret,
      keyData,
      event.media.mediaKey,
    ])
      expect(text).not.toContain(toBase64(secret));
    // What is public stays readable.
    expect(text).toContain(toBase64(credentials.identityKey.publicKey));
    expect(text).toContain('"kind":"appStateKeys"');
    expect(text).toContain('[redacted]');
  });
});
