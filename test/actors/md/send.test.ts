// sendMdText alone (docs/protocol-md.md §12.7), with the server played by a function that answers usync
// and the bundle fetch: the stanza it builds, the device-list cache, a recipient decrypting what it sent,
// and each typed failure (badJid, noDevices, iqError, bundleMissing, encryptFailed).
import { describe, expect, it } from 'vitest';
import { isMdSendError, MdDeviceCache, type MdSendContext, sendMdText } from '../../../actors/md/index.ts';
import { md } from '../../../codec/index.ts';
import { x25519KeyPair } from '../../../crypto/index.ts';
import {
  djbPublicKey,
  MemorySignalKeyStore,
  signalDecrypt,
  unpadMessage,
  xeddsaSign,
} from '../../../crypto/md/index.ts';

const ME = '15551234567:1@s.whatsapp.net';
const CONTACT = '4917000000001@s.whatsapp.net';
const { mdNode } = md;

function be(value: number, length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (value >> (8 * (length - 1 - i))) & 0xff);
}

/** A recipient device with its own keys, and its bundle as the server hands it out. */
function recipient(registrationId = 77) {
  const identity = x25519KeyPair();
  const signed = { keyId: 1, keyPair: x25519KeyPair() };
  const signature = xeddsaSign(identity.privateKey, djbPublicKey(signed.keyPair.publicKey));
  const preKey = { keyId: 9, keyPair: x25519KeyPair() };
  const store = new MemorySignalKeyStore(
    { registrationId, identityKeyPair: identity },
    { signedPreKeys: [{ ...signed, signature }], preKeys: [preKey] },
  );
  const bundle = (jid: string, sig = signature) =>
    mdNode('user', { jid }, [
      mdNode('registration', {}, be(registrationId, 4)),
      mdNode('type', {}, Uint8Array.of(5)),
      mdNode('identity', {}, identity.publicKey),
      mdNode('key', {}, [mdNode('id', {}, be(9, 3)), mdNode('value', {}, preKey.keyPair.publicKey)]),
      mdNode('skey', {}, [
        mdNode('id', {}, be(1, 3)),
        mdNode('value', {}, signed.keyPair.publicKey),
        mdNode('signature', {}, sig),
      ]),
    ]);
  return { store, bundle };
}

function usyncAnswer(id: string, users: [string, number[]][]) {
  return mdNode('iq', { id, type: 'result' }, [
    mdNode('usync', {}, [
      mdNode(
        'list',
        {},
        users.map(([jid, ids]) =>
          mdNode('user', { jid }, [
            mdNode('devices', {}, [
              mdNode(
                'device-list',
                {},
                ids.map((d) => mdNode('device', { id: String(d) })),
              ),
            ]),
          ]),
        ),
      ),
    ]),
  ]);
}

function context(answer: (request: md.MdNode) => md.MdNode) {
  const sender = new MemorySignalKeyStore({ registrationId: 5, identityKeyPair: x25519KeyPair() });
  const requests: md.MdNode[] = [];
  const sent: md.MdNode[] = [];
  let ids = 0;
  const ctx: MdSendContext = {
    me: ME,
    account: Uint8Array.of(1, 2, 3),
    store: sender,
    cache: new MdDeviceCache(),
    query: async (build) => {
      const request = build(`q${++ids}`);
      requests.push(request);
      return answer(request);
    },
    send: (node) => sent.push(node),
  };
  return { ctx, requests, sent };
}

const failure = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isMdSendError(error)).toBe(true);
  return (error as { code: string }).code;
};

describe('sendMdText', () => {
  it('encrypts a pkmsg the recipient decrypts, sends <participants> with the device identity, caches the devices', async () => {
    const contact = recipient();
    const { ctx, requests, sent } = context((request) => {
      if (request.attrs.xmlns === 'usync')
        return usyncAnswer(request.attrs.id!, [
          [CONTACT, [0]],
          ['15551234567@s.whatsapp.net', [1]],
        ]);
      return mdNode('iq', { id: request.attrs.id!, type: 'result' }, [
        mdNode('list', {}, [contact.bundle(CONTACT)]),
      ]);
    });
    const result = await sendMdText(ctx, { jid: '4917000000001@c.us', text: 'hi there', id: 'M1' });
    expect(result).toEqual({ to: CONTACT, encs: [{ jid: CONTACT, type: 'pkmsg' }] });
    const stanza = sent[0]!;
    expect(stanza.attrs).toEqual({ to: CONTACT, id: 'M1', type: 'text' });
    const to = md.findChildren(md.requireChild(stanza, 'participants'), 'to');
    expect(to.map((t) => t.attrs.jid)).toEqual([CONTACT]);
    expect(md.contentBytes(md.requireChild(stanza, 'device-identity'))).toEqual(Uint8Array.of(1, 2, 3));
    const enc = md.requireChild(to[0]!, 'enc');
    expect(enc.attrs).toEqual({ v: '2', type: 'pkmsg' });
    const plaintext = unpadMessage(
      await signalDecrypt(contact.store, { name: '15551234567', deviceId: 1 }, 'pkmsg', md.contentBytes(enc)),
    );
    expect(md.decodeMessage(plaintext).conversation).toBe('hi there');

    // The second send finds the devices in the cache and the session in the store: no IQ at all.
    await sendMdText(ctx, { jid: CONTACT, text: 'again', id: 'M2' });
    expect(requests.map((r) => r.attrs.xmlns)).toEqual(['usync', 'encrypt']);
  });

  it('fails with typed codes: badJid, noDevices, iqError, bundleMissing, encryptFailed', async () => {
    const none = context((request) => usyncAnswer(request.attrs.id!, [[CONTACT, []]]));
    expect(await failure(sendMdText(none.ctx, { jid: 'someone', text: 'x', id: 'A' }))).toBe('badJid');
    expect(await failure(sendMdText(none.ctx, { jid: CONTACT, text: 'x', id: 'B' }))).toBe('noDevices');

    const refused = context((request) =>
      mdNode('iq', { id: request.attrs.id!, type: 'error' }, [mdNode('error', { code: '500', text: 'x' })]),
    );
    expect(await failure(sendMdText(refused.ctx, { jid: CONTACT, text: 'x', id: 'C' }))).toBe('iqError');

    const noBundle = context((request) =>
      request.attrs.xmlns === 'usync'
        ? usyncAnswer(request.attrs.id!, [[CONTACT, [0]]])
        : mdNode('iq', { id: request.attrs.id!, type: 'result' }, [
            mdNode('list', {}, [
              mdNode('user', { jid: CONTACT }, [mdNode('error', { code: '404', text: 'item-not-found' })]),
            ]),
          ]),
    );
    expect(await failure(sendMdText(noBundle.ctx, { jid: CONTACT, text: 'x', id: 'D' }))).toBe(
      'bundleMissing',
    );

    const contact = recipient();
    const forged = context((request) =>
      request.attrs.xmlns === 'usync'
        ? usyncAnswer(request.attrs.id!, [[CONTACT, [0]]])
        : mdNode('iq', { id: request.attrs.id!, type: 'result' }, [
            mdNode('list', {}, [contact.bundle(CONTACT, new Uint8Array(64))]),
          ]),
    );
    expect(await failure(sendMdText(forged.ctx, { jid: CONTACT, text: 'x', id: 'E' }))).toBe('encryptFailed');
    for (const c of [none, refused, noBundle, forged]) expect(c.sent).toEqual([]);
  });
});
