// decryptMdMessage: the known-answer stanza from its v3 wire bytes, messages from the emulator's phone
// code and from crypto/md's sender (pkmsg, then msg once the companion answered), every content kind, the
// media reference through the legacy media crypto, and a typed reason (never a throw) for the rest.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CredentialError, type CredentialStore, MemoryCredentialStore, md } from '../../../actors/index.ts';
import { md as codec } from '../../../codec/index.ts';
import { decryptMedia, encryptMedia, randomBytes, x25519KeyPair } from '../../../crypto/index.ts';
import {
  MemorySignalKeyStore,
  newSenderKey,
  padMessage,
  type SenderKeyRecord,
  type SignalCiphertext,
  senderKeyDistributionOf,
  senderKeyEncrypt,
  signalDecrypt,
  signalEncrypt,
  unpadMessage,
} from '../../../crypto/md/index.ts';
import { encryptForDevice, type SignalParty } from '../../../emulator/md/index.ts';
import { mediaJobId } from '../../../workers/index.ts';
import { readFixture } from '../../support/fixtures.ts';
import { bundleOf, TestSender } from '../../support/md-sender.ts';
import { hex, keyPair, signalVectors } from '../../support/md-vectors.ts';

const { MD_CREDENTIAL_CODEC, MdDeviceStore, newMdCredentialRecord, generateMdCredentials, decryptMdMessage } =
  md;
type Record_ = md.MdCredentialRecord;

const v = signalVectors();
const ME = { name: '15551234567', deviceId: 3 };

async function companion(
  record: Record_ = newMdCredentialRecord(),
  store: CredentialStore<Record_> = new MemoryCredentialStore<Record_>(null, MD_CREDENTIAL_CODEC),
  onWriteError?: (error: unknown) => void,
): Promise<md.MdDeviceStore> {
  await store.save(record);
  const device = await MdDeviceStore.open(store, onWriteError ? { onWriteError } : {});
  await device.signal.preKeysForUpload(1, 10);
  return device;
}

/** A contact that has sent the companion nothing yet; every message starts with a pkmsg. */
function contact(device: md.MdDeviceStore, user = '15557654321') {
  const sender = new TestSender(user, ME);
  let next = 0;
  const send = async (message: codec.Message, extra: Record<string, string> = {}) => {
    const cipher = await sender.encrypt(message, () =>
      bundleOf(device.state, device.state.signal.preKeys[next++]?.keyId),
    );
    return sender.stanza(`3EB0${String(Math.random()).slice(2, 10)}`, cipher, extra);
  };
  return { sender, send };
}

describe('decryptMdMessage', () => {
  it('decrypts the known-answer stanza from its v3 wire bytes to its text, and its redelivery is a duplicate', async () => {
    const r = v.receiver;
    const record = newMdCredentialRecord({
      ...generateMdCredentials(),
      identityKey: keyPair(r.identityKey),
      signedPreKey: {
        keyId: r.signedPreKey.keyId,
        keyPair: keyPair(r.signedPreKey),
        signature: hex(r.signedPreKey.signature),
      },
      registrationId: r.registrationId,
    });
    record.signal.preKeys = [{ keyId: r.oneTimePreKey.keyId, keyPair: keyPair(r.oneTimePreKey) }];
    const store = new MemoryCredentialStore<Record_>(record, MD_CREDENTIAL_CODEC);
    const device = await MdDeviceStore.open(store);
    const { hexV3 } = (v as unknown as { stanza: { hexV3: string } }).stanza;
    const node = codec.decodeMdNode(hex(hexV3), 3);
    expect(md.parseMdEnvelope(node)).toMatchObject({
      id: '3EB0A1B2C3D4E5F60718',
      from: v.sender.jid,
      t: 1767225800,
      type: 'text',
      notify: 'Alice',
      offline: false,
    });
    expect(await decryptMdMessage(node, device.signal)).toEqual({
      kind: 'text',
      text: v.expected.conversation,
    });
    expect(store.saves).toBe(1); // one save for the message: its session and its used pre-key
    expect((await store.load())!.signal.preKeys).toEqual([]);
    expect(await decryptMdMessage(node, device.signal)).toEqual({
      kind: 'undecryptable',
      reason: 'duplicate',
      detail: 'SIGNAL_DUPLICATE',
    });
  });

  it('decrypts what the emulator’s phone code encrypts (emulator/md/signal-party.ts)', async () => {
    const device = await companion();
    const phone: SignalParty = { registrationId: 4242, identity: x25519KeyPair(), sessions: {} };
    const cipher = await encryptForDevice(
      phone,
      () => undefined,
      ME,
      () => bundleOf(device.state),
      codec.encodeMessage({ conversation: 'from the emulator' }),
    );
    const node = codec.mdNode(
      'message',
      { from: '15550001111@s.whatsapp.net', id: 'E1', t: '1', type: 'text' },
      [codec.mdNode('enc', { v: '2', type: cipher.type }, cipher.body)],
    );
    expect(await decryptMdMessage(node, device.signal)).toEqual({ kind: 'text', text: 'from the emulator' });
    expect(device.signal.preKeyCount).toBe(9);
  });

  it('a pkmsg, then a msg once the companion has answered; each message is one save', async () => {
    const device = await companion();
    const { sender, send } = contact(device);
    const saves = device.saves;
    expect(await decryptMdMessage(await send({ conversation: 'one' }), device.signal)).toEqual({
      kind: 'text',
      text: 'one',
    });
    expect(device.saves).toBe(saves + 1);
    // The companion answers on the session the pkmsg opened; the contact then sends WhisperMessages.
    const reply = await signalEncrypt(
      device.signal,
      { name: sender.user, deviceId: 0 },
      new Uint8Array([1, 2, 3, 1]),
    );
    await signalDecrypt(sender.store, ME, reply.type, reply.body);
    const second = await send({
      extendedTextMessage: { text: 'see https://example.org', matchedText: 'https://example.org' },
    });
    expect(codec.findChild(second, 'enc')?.attrs.type).toBe('msg');
    expect(await decryptMdMessage(second, device.signal)).toEqual({
      kind: 'extendedText',
      text: 'see https://example.org',
      matchedText: 'https://example.org',
    });
    expect(device.saves).toBe(saves + 3);
  });

  it('an image becomes a media reference the legacy media crypto opens (the IMAGE vector)', async () => {
    const device = await companion();
    const { send } = contact(device);
    const mediaKey = readFixture('media/IMAGE.key');
    const object = readFixture('media/IMAGE.encrypted');
    const original = readFixture('media/IMAGE.original');
    const encrypted = encryptMedia(original, mediaKey, 'image');
    expect(encrypted.object).toEqual(object);
    const content = await decryptMdMessage(
      await send({
        imageMessage: {
          url: 'https://mmg.whatsapp.net/v/t62/abc.enc',
          directPath: '/v/t62/abc.enc',
          mimetype: 'image/jpeg',
          mediaKey,
          fileSha256: encrypted.fileSha256,
          fileEncSha256: encrypted.fileEncSha256,
          fileLength: encrypted.fileLength,
          caption: 'a picture',
          width: 10,
        },
      }),
      device.signal,
    );
    expect(content).toMatchObject({
      kind: 'media',
      caption: 'a picture',
      media: { type: 'image', mimetype: 'image/jpeg' },
    });
    if (content.kind !== 'media') throw new Error('not media');
    expect(decryptMedia(object, content.media.mediaKey, content.media.type, content.media)).toEqual(original);
    // The same job id legacy media would get: the queue takes it as is.
    expect(mediaJobId(content.media, new Uint8Array(32))).toMatch(/^media-[0-9a-f]{64}$/);
  });

  it('video, audio and document map to their media types; media without its key is other', async () => {
    const device = await companion();
    const { send } = contact(device);
    const fields = { mediaKey: randomBytes(32), directPath: '/v/x.enc', fileLength: 5 };
    const cases: [codec.Message, string][] = [
      [{ videoMessage: { ...fields, gifPlayback: true } }, 'video'],
      [{ audioMessage: { ...fields, ptt: true } }, 'audio'],
      [{ documentMessage: { ...fields, fileName: 'a.pdf' } }, 'document'],
    ];
    for (const [message, type] of cases) {
      const content = await decryptMdMessage(await send(message), device.signal);
      expect(content).toMatchObject({
        kind: 'media',
        media: { type, directPath: '/v/x.enc', fileLength: 5 },
      });
    }
    expect(
      await decryptMdMessage(
        await send({ documentMessage: { ...fields, fileName: 'a.pdf' } }),
        device.signal,
      ),
    ).toMatchObject({
      media: { fileName: 'a.pdf' },
    });
    expect(
      await decryptMdMessage(await send({ imageMessage: { directPath: '/v/y.enc' } }), device.signal),
    ).toEqual({
      kind: 'other',
      type: 'image-incomplete',
    });
  });

  it('the primary’s history-sync notification and app-state key share (§13), stored as the machine asks', async () => {
    const device = await companion();
    const { send } = contact(device, '15551234567');
    const { PROTOCOL_MESSAGE_TYPE, HISTORY_SYNC_TYPE } = codec;
    expect(
      await decryptMdMessage(
        await send(
          {
            protocolMessage: {
              type: PROTOCOL_MESSAGE_TYPE.HISTORY_SYNC_NOTIFICATION,
              historySyncNotification: { syncType: HISTORY_SYNC_TYPE.NON_BLOCKING_DATA },
            },
          },
          { category: 'peer', type: 'protocol' },
        ),
        device.signal,
      ),
    ).toEqual({ kind: 'historySync', syncType: 5, download: null });
    const mediaKey = randomBytes(32);
    expect(
      await decryptMdMessage(
        await send({
          protocolMessage: {
            type: PROTOCOL_MESSAGE_TYPE.HISTORY_SYNC_NOTIFICATION,
            historySyncNotification: {
              syncType: HISTORY_SYNC_TYPE.INITIAL_BOOTSTRAP,
              mediaKey,
              directPath: '/v/h.enc',
              fileLength: 9,
              chunkOrder: 1,
              progress: 50,
            },
          },
        }),
        device.signal,
      ),
    ).toEqual({
      kind: 'historySync',
      syncType: 0,
      chunkOrder: 1,
      progress: 50,
      download: { type: 'history', mediaKey, directPath: '/v/h.enc', fileLength: 9 },
    });
    const key = {
      keyId: { keyId: randomBytes(6) },
      keyData: {
        keyData: randomBytes(32),
        fingerprint: { rawId: 1, currentIndex: 0, deviceIndexes: [0, 3] },
        timestamp: 1767225800000,
      },
    };
    const content = await decryptMdMessage(
      await send({
        protocolMessage: {
          type: PROTOCOL_MESSAGE_TYPE.APP_STATE_SYNC_KEY_SHARE,
          appStateSyncKeyShare: { keys: [key, { keyId: { keyId: randomBytes(6) } }] },
        },
      }),
      device.signal,
    );
    expect(content).toEqual({ kind: 'appStateKeys', keys: [key] });
    if (content.kind !== 'appStateKeys') throw new Error('no keys');
    await device.appState.put(content.keys);
    expect(device.appState.get(key.keyId.keyId)?.keyData).toEqual(key.keyData.keyData);
    expect(md.asMachineContent(content).kind).toBe('appStateKeys');
  });

  it('reads through deviceSent, ephemeral, view-once and document-with-caption wrappers; stickers are media', async () => {
    const inner = { conversation: 'wrapped' };
    expect(
      md.mdMessageContent({ deviceSentMessage: { destinationJid: '1@s.whatsapp.net', message: inner } }),
    ).toEqual({
      kind: 'text',
      text: 'wrapped',
    });
    expect(
      md.mdMessageContent({ ephemeralMessage: { message: { viewOnceMessage: { message: inner } } } }),
    ).toEqual({
      kind: 'text',
      text: 'wrapped',
    });
    const fields = { mediaKey: randomBytes(32), directPath: '/v/d.enc' };
    expect(
      md.mdMessageContent({
        documentWithCaptionMessage: { message: { documentMessage: { ...fields, caption: 'c' } } },
      }),
    ).toMatchObject({ kind: 'media', caption: 'c', media: { type: 'document' } });
    const device = await companion();
    const { send } = contact(device);
    const content = await decryptMdMessage(
      await send({ stickerMessage: { ...fields, mimetype: 'image/webp', isAnimated: true } }),
      device.signal,
    );
    expect(content).toMatchObject({
      kind: 'media',
      media: { type: 'sticker', mimetype: 'image/webp', directPath: '/v/d.enc' },
    });
  });

  it('what walink does not read is other, by its field or protocol type', async () => {
    const device = await companion();
    const { send } = contact(device);
    expect(
      await decryptMdMessage(
        await send({ protocolMessage: { type: codec.PROTOCOL_MESSAGE_TYPE.REVOKE } }),
        device.signal,
      ),
    ).toEqual({
      kind: 'other',
      type: 'protocol:REVOKE',
    });
    expect(await decryptMdMessage(await send({}), device.signal)).toEqual({ kind: 'other', type: 'unknown' });
  });

  it('keys LID senders as user_1 and group senders by their participant', async () => {
    expect(md.mdSignalAddress('123456789:7@lid')).toEqual({ name: '123456789_1', deviceId: 7 });
    expect(md.mdSignalAddress('15551234567@s.whatsapp.net')).toEqual({ name: '15551234567', deviceId: 0 });
    expect(md.mdSignalAddress('1555:2@hosted')).toEqual({ name: '1555_128', deviceId: 2 });
    const device = await companion();
    const lid = new TestSender('123456789', ME);
    const cipher = await lid.encrypt({ conversation: 'via lid' }, () => bundleOf(device.state));
    const node = codec.mdNode('message', { from: '123456789@lid', id: 'L1', t: '1' }, [
      codec.mdNode('enc', { v: '2', type: cipher.type }, cipher.body),
    ]);
    expect(await decryptMdMessage(node, device.signal)).toEqual({ kind: 'text', text: 'via lid' });
    const member = new TestSender('15550002222', ME);
    const inGroup = await member.encrypt({ conversation: 'group text' }, () => bundleOf(device.state, 2));
    const group = codec.mdNode(
      'message',
      { from: '120363000000000001@g.us', participant: '15550002222:1@s.whatsapp.net', id: 'G1', t: '1' },
      [codec.mdNode('enc', { v: '2', type: inGroup.type }, inGroup.body)],
    );
    expect(md.mdSenderJid(md.parseMdEnvelope(group))).toBe('15550002222:1@s.whatsapp.net');
    expect(await decryptMdMessage(group, device.signal)).toEqual({ kind: 'text', text: 'group text' });
    expect(Object.keys(device.state.signal.sessions).sort()).toEqual(['123456789_1.0', '15550002222.1']);
  });

  it('group messages: the sender key from the pairwise part, then skmsgs alone, saved with the device', async () => {
    const store = new MemoryCredentialStore<Record_>(null, MD_CREDENTIAL_CODEC);
    const device = await companion(newMdCredentialRecord(), store);
    const GROUP = '120363000000000001@g.us';
    const member = new TestSender('15550002222', ME);
    let key: SenderKeyRecord = newSenderKey();
    const skmsg = (text: string) => {
      const out = senderKeyEncrypt(key, padMessage(codec.encodeMessage({ conversation: text })));
      key = out.record;
      return codec.mdNode('enc', { v: '2', type: 'skmsg' }, out.message);
    };
    const stanza = (id: string, encs: codec.MdNode[]) =>
      codec.mdNode(
        'message',
        { from: GROUP, participant: '15550002222:1@s.whatsapp.net', id, t: '1', type: 'text' },
        encs,
      );
    const distribution = await member.encrypt(
      {
        senderKeyDistributionMessage: {
          groupId: GROUP,
          axolotlSenderKeyDistributionMessage: senderKeyDistributionOf(key),
        },
      },
      () => bundleOf(device.state),
    );
    const first = stanza('G1', [
      codec.mdNode('enc', { v: '2', type: distribution.type }, distribution.body),
      skmsg('hello group'),
    ]);
    const saves = device.saves;
    expect(await decryptMdMessage(first, device.signal)).toEqual({ kind: 'text', text: 'hello group' });
    expect(device.saves).toBe(saves + 1);
    expect(Object.keys(device.state.signal.senderKeys)).toEqual([
      md.senderKeyName(GROUP, { name: '15550002222', deviceId: 1 }),
    ]);
    const second = stanza('G2', [skmsg('second')]);
    const third = stanza('G3', [skmsg('third')]);
    expect(await decryptMdMessage(third, device.signal)).toEqual({ kind: 'text', text: 'third' });
    // A restarted process reads the rest from what was saved.
    const restarted = await MdDeviceStore.open(store);
    expect(await decryptMdMessage(second, restarted.signal)).toEqual({ kind: 'text', text: 'second' });
    expect(await decryptMdMessage(second, restarted.signal)).toMatchObject({ reason: 'duplicate' });
    // Another member whose key never came, and a store without sender keys.
    const other = codec.mdNode(
      'message',
      { from: GROUP, participant: '15550003333@s.whatsapp.net', id: 'G4', t: '1' },
      [skmsg('x')],
    );
    expect(await decryptMdMessage(other, restarted.signal)).toEqual({
      kind: 'undecryptable',
      reason: 'no-sender-key',
    });
    // A key handed out in a pairwise stanza of its own counts for the group it names; a group's stanza
    // cannot plant a key for another group.
    const carol = new TestSender('15550004444', ME);
    let theirKey = newSenderKey();
    const theirs = (text: string) => {
      const out = senderKeyEncrypt(theirKey, padMessage(codec.encodeMessage({ conversation: text })));
      theirKey = out.record;
      return codec.mdNode('enc', { v: '2', type: 'skmsg' }, out.message);
    };
    const OTHER = '120363000000000002@g.us';
    const planted = await carol.encrypt(
      {
        senderKeyDistributionMessage: {
          groupId: OTHER,
          axolotlSenderKeyDistributionMessage: senderKeyDistributionOf(theirKey),
        },
      },
      () => bundleOf(restarted.state),
    );
    const inGroup = { from: GROUP, participant: '15550004444@s.whatsapp.net', t: '1' };
    await decryptMdMessage(
      codec.mdNode('message', { ...inGroup, id: 'P1' }, [
        codec.mdNode('enc', { v: '2', type: planted.type }, planted.body),
      ]),
      restarted.signal,
    );
    expect(
      restarted.signal.loadSenderKey(md.senderKeyName(OTHER, { name: '15550004444', deviceId: 0 })),
    ).toBeNull();
    const direct = await carol.encrypt(
      {
        senderKeyDistributionMessage: {
          groupId: OTHER,
          axolotlSenderKeyDistributionMessage: senderKeyDistributionOf(theirKey),
        },
      },
      () => bundleOf(restarted.state),
    );
    await decryptMdMessage(carol.stanza('P2', direct), restarted.signal);
    const inOther = codec.mdNode('message', { ...inGroup, from: OTHER, id: 'P3' }, [
      theirs('in the other group'),
    ]);
    expect(await decryptMdMessage(inOther, restarted.signal)).toEqual({
      kind: 'text',
      text: 'in the other group',
    });
    const plain = new MemorySignalKeyStore({ registrationId: 1, identityKeyPair: x25519KeyPair() });
    expect(await decryptMdMessage(stanza('G5', [skmsg('y')]), plain)).toEqual({
      kind: 'undecryptable',
      reason: 'group-unsupported',
    });
  });

  it('every failure is a typed reason, never a throw', async () => {
    const device = await companion();
    const { sender, send } = contact(device);
    const enc = (type: string, body: Uint8Array, v = '2') =>
      codec.mdNode('message', { from: sender.jid, id: 'X', t: '1' }, [
        codec.mdNode('enc', { v, type }, body),
      ]);
    const reason = async (node: codec.MdNode) => {
      const content = await decryptMdMessage(node, device.signal);
      return content.kind === 'undecryptable' ? content.reason : content.kind;
    };
    expect(await reason(enc('msg', randomBytes(60)))).toBe('no-session');
    expect(await reason(enc('pkmsg', randomBytes(60)))).toBe('bad-message');
    expect(await reason(enc('skmsg', randomBytes(60)))).toBe('bad-message');
    const stranger = senderKeyEncrypt(
      newSenderKey(),
      padMessage(codec.encodeMessage({ conversation: 'x' })),
    ).message;
    expect(await reason(enc('skmsg', stranger))).toBe('no-sender-key');
    expect(await reason(enc('frank', randomBytes(60)))).toBe('no-enc');
    expect(await reason(enc('pkmsg', randomBytes(60), '3'))).toBe('no-enc');
    expect(await reason(codec.mdNode('message', { from: sender.jid, id: 'X', t: '1' }))).toBe('no-enc');
    expect(await reason(codec.mdNode('message', { from: sender.jid, t: '1' }))).toBe('bad-stanza');
    expect(
      await reason(
        codec.mdNode('message', { from: '@s.whatsapp.net', id: 'X' }, [
          codec.mdNode('enc', { v: '2', type: 'msg' }, randomBytes(9)),
        ]),
      ),
    ).toBe('bad-stanza');
    expect(
      await reason(
        codec.mdNode('message', { from: '1203630@g.us', id: 'X' }, [
          codec.mdNode('enc', { v: '2', type: 'msg' }, randomBytes(9)),
        ]),
      ),
    ).toBe('bad-stanza');
    expect(await reason(codec.mdNode('receipt', { from: sender.jid, id: 'X' }))).toBe('bad-stanza');
    // A tampered pkmsg: the MAC fails, and the one-time pre-key it named is still there.
    const good = await send({ conversation: 'x' });
    const body = codec.contentBytes(codec.findChild(good, 'enc')!).slice();
    body[body.length - 12]! ^= 1;
    const count = device.signal.preKeyCount;
    expect(await reason(enc('pkmsg', body))).toBe('bad-message');
    expect(device.signal.preKeyCount).toBe(count);
    // A pkmsg naming a one-time pre-key the companion does not have (used, or never made).
    const late = new TestSender('15550009999', ME);
    const cipher = await late.encrypt({ conversation: 'late' }, () => ({
      ...bundleOf(device.state),
      preKey: { keyId: 999, publicKey: x25519KeyPair().publicKey },
    }));
    expect(await reason(late.stanza('P', cipher))).toBe('prekey');
  });

  it('plaintext without padding, or padded garbage, is bad-padding or bad-protobuf', async () => {
    const device = await companion();
    const sender = new TestSender('15557654321', ME);
    const raw = async (plaintext: Uint8Array): Promise<SignalCiphertext> => {
      await sender.encrypt({ conversation: 'open' }, () => bundleOf(device.state));
      return signalEncrypt(sender.store, ME, plaintext);
    };
    const first = await raw(new Uint8Array([0x0a, 0x01, 0x41, 0x00]));
    expect(await decryptMdMessage(sender.stanza('B1', first), device.signal)).toMatchObject({
      reason: 'bad-padding',
    });
    const second = await signalEncrypt(sender.store, ME, new Uint8Array([0xff, 0xff, 0xff, 0x02, 0x02]));
    expect(await decryptMdMessage(sender.stanza('B2', second), device.signal)).toMatchObject({
      reason: 'bad-protobuf',
    });
  });

  it('a failed save still returns the content; the change is kept and saved next time', async () => {
    let fail = false;
    const inner = new MemoryCredentialStore<Record_>(null, MD_CREDENTIAL_CODEC);
    const flaky: CredentialStore<Record_> = {
      location: 'flaky',
      load: () => inner.load(),
      save: async (record) => {
        if (fail) throw new CredentialError('IO', 'disk full');
        await inner.save(record);
      },
      clear: () => inner.clear(),
    };
    const errors: unknown[] = [];
    const device = await companion(newMdCredentialRecord(), flaky, (e) => errors.push(e));
    const { send } = contact(device);
    fail = true;
    expect(await decryptMdMessage(await send({ conversation: 'kept' }), device.signal)).toEqual({
      kind: 'text',
      text: 'kept',
    });
    expect(errors).toHaveLength(1);
    expect(Object.keys((await inner.load())!.signal.sessions)).toHaveLength(0);
    fail = false;
    await device.flush();
    expect(Object.keys((await inner.load())!.signal.sessions)).toEqual(['15557654321.0']);
  });
});

describe('decryptMdMessage on arbitrary input (fast-check)', () => {
  it('never throws: any node, any attributes, any enc bodies give a content', async () => {
    const device = await companion();
    const attrs = fc.dictionary(
      fc.constantFrom('from', 'id', 't', 'participant', 'type', 'category', 'offline', 'x'),
      fc.oneof(
        fc.string(),
        fc.constantFrom('15557654321@s.whatsapp.net', '1@g.us', '9:2@lid', '@s.whatsapp.net', '12'),
      ),
    );
    const enc = fc.record({
      tag: fc.constantFrom('enc', 'enc', 'other'),
      attrs: fc.dictionary(
        fc.constantFrom('type', 'v', 'mediatype'),
        fc.constantFrom('pkmsg', 'msg', 'skmsg', '2', '3', 'x'),
      ),
      content: fc.oneof(fc.uint8Array({ maxLength: 120 }), fc.string(), fc.constant(undefined)),
    });
    const node = fc.record({
      tag: fc.constantFrom('message', 'message', 'receipt'),
      attrs,
      content: fc.oneof(
        fc.array(enc, { maxLength: 3 }),
        fc.uint8Array({ maxLength: 8 }),
        fc.constant(undefined),
      ),
    });
    await fc.assert(
      fc.asyncProperty(node, async (n) => {
        const content = await decryptMdMessage(n as codec.MdNode, device.signal);
        expect(typeof content.kind).toBe('string');
      }),
      { numRuns: 200 },
    );
  });
});

describe('createMdDecryptor', () => {
  it('decrypts envelopes as the socket parses them and marks what the account’s own phone sent as peer', async () => {
    const device = await companion();
    await device.saveCredentials({
      ...device.credentials,
      me: { jid: '15551234567:3@s.whatsapp.net', lid: null },
    });
    const decrypt = md.createMdDecryptor(device);
    const phone = contact(device, '15551234567');
    const friend = contact(device, '15557654321');
    expect(await decrypt(await phone.send({ conversation: 'from my phone' }))).toEqual({
      content: { kind: 'text', text: 'from my phone' },
      peer: true,
    });
    const node = await friend.send({ conversation: 'hi' });
    const enc = codec.findChild(node, 'enc')!;
    // The socket's envelope: no `v`, no `offline`.
    const envelope = {
      id: 'F1',
      from: node.attrs.from!,
      t: 1,
      type: 'text',
      encs: [{ type: enc.attrs.type as 'pkmsg', body: codec.contentBytes(enc) }],
    };
    expect(await decrypt(envelope)).toEqual({ content: { kind: 'text', text: 'hi' }, peer: false });
    expect(await decrypt({ ...envelope, id: 'F2', category: 'peer' })).toMatchObject({ peer: true });
    expect(await decrypt(codec.mdNode('message', {}))).toMatchObject({
      content: { reason: 'bad-stanza' },
      peer: false,
    });
  });
});

describe('unpad and decode outside Signal', () => {
  it('mdMessageContent reads a Message without any I/O', () => {
    expect(md.mdMessageContent({ conversation: '' })).toEqual({ kind: 'text', text: '' });
    expect(md.mdMessageContent(codec.decodeMessage(unpadMessage(hex(v.expected.paddedPlaintext))))).toEqual({
      kind: 'text',
      text: v.expected.conversation,
    });
  });
});
