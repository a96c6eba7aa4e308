// A tampered pair-success against a whole MD session (docs/protocol-md.md §6.5-§6.6): a scripted server
// (test/support/md-fake-server.ts) sends pair-device, then a pair-success that fails one check; the session
// answers the error IQ for it, stores nothing, and rests in pairFailed with the reason.
import { afterEach, describe, expect, it } from 'vitest';
import { createSession, MemoryCredentialStore, type Session } from '../../actors/index.ts';
import { MD_CREDENTIAL_CODEC, type MdCredentialRecord } from '../../actors/md/index.ts';
import { md } from '../../codec/index.ts';
import { x25519KeyPair } from '../../crypto/index.ts';
import { type FakeConnection, type FakeServer, startFakeMdServer } from '../support/md-fake-server.ts';

let server: FakeServer | null = null;
const sessions: Session[] = [];
afterEach(async () => {
  for (const session of sessions.splice(0)) await session.stop();
  await server?.close();
  server = null;
});

const PRIMARY = x25519KeyPair();

/** The container a phone would send, with one thing wrong. */
function tampered(
  kind: 'hmac' | 'signature' | 'garbage',
  companionIdentity: Uint8Array,
  advSecret: Uint8Array,
): Uint8Array {
  if (kind === 'garbage') return Uint8Array.of(0x0a, 0xff, 0x01);
  return md.buildPairSuccessIdentity({
    // A signature by another key than the one the identity names fails step 4.
    primaryIdentity: kind === 'signature' ? { ...x25519KeyPair(), publicKey: PRIMARY.publicKey } : PRIMARY,
    companionIdentityPublicKey: companionIdentity,
    advSecret: kind === 'hmac' ? new Uint8Array(32).fill(1) : advSecret,
    device: { rawId: 1, timestamp: 1_767_225_600, keyIndex: 1 },
  }).container;
}

describe.each([
  ['hmac', 401, 'hmac-mismatch', 'hmacMismatch'],
  ['signature', 401, 'signature-mismatch', 'signatureMismatch'],
  ['garbage', 500, 'internal-error', 'invalidPairSuccess'],
] as const)('a pair-success with a bad %s', (kind, code, text, reason) => {
  it(`is answered (${code}, ${text}) and the session rests in pairFailed(${reason})`, async () => {
    let connection: FakeConnection | null = null;
    server = await startFakeMdServer({
      onConnection: (c) => {
        connection = c;
        c.sendNode(
          md.mdNode('iq', { id: 'pd', type: 'set', xmlns: 'md', from: 's.whatsapp.net' }, [
            md.mdNode('pair-device', {}, [md.mdNode('ref', {}, new TextEncoder().encode('2@ref'))]),
          ]),
        );
      },
    });
    const store = new MemoryCredentialStore<MdCredentialRecord>(null, MD_CREDENTIAL_CODEC);
    const session = await createSession({
      protocol: 'md',
      url: server.url,
      rootPublicKey: server.root.publicKey,
      store,
    });
    sessions.push(session);
    session.start();
    const showing = await session.waitFor((state) => state.qr !== null, 5000);
    // What the phone reads from the QR code (§6.2): the identity and the adv secret.
    const qr = md.parseMdQr(showing.qr!.text);
    connection!.sendNode(
      md.mdNode('iq', { id: 'ps', type: 'set', from: 's.whatsapp.net', t: '1767225601' }, [
        md.mdNode('pair-success', {}, [
          md.mdNode('device-identity', {}, tampered(kind, qr.identityPublicKey, qr.advSecret)),
          md.mdNode('platform', { name: 'android' }),
          md.mdNode('device', { jid: '15551234567:1@s.whatsapp.net', lid: '100000000000001:1@lid' }),
        ]),
      ]),
    );
    const state = await session.waitFor((s) => s.resting, 5000);
    expect(state).toMatchObject({ name: 'pairFailed', reason });
    for (let i = 0; i < 200 && !connection!.nodes.some((n) => n.attrs.id === 'ps'); i++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    const answer = connection!.nodes.find((n) => n.attrs.id === 'ps')!;
    expect(answer.attrs.type).toBe('error');
    expect(md.requireChild(answer, 'error').attrs).toEqual({ code: String(code), text });
    expect(connection!.nodes.some((n) => md.findChild(n, 'pair-device-sign'))).toBe(false);
    expect((await store.load())?.credentials.me ?? null).toBeNull();
  });
});
