// The persistent MD key store: the known-answer pkmsg decrypts through it and what it changed (the session,
// the used pre-key) is on disk before the decrypt returns; a burst is one save; a failed save is retried;
// pre-keys for an upload are durable before they are handed out; clear() forgets for good.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CredentialError,
  type CredentialStore,
  FileCredentialStore,
  MemoryCredentialStore,
  md,
} from '../../../actors/index.ts';
import { md as codec } from '../../../codec/index.ts';
import { randomBytes, x25519KeyPair } from '../../../crypto/index.ts';
import { type SignalCiphertext, signalDecrypt, unpadMessage } from '../../../crypto/md/index.ts';
import { bundleOf, TestSender } from '../../support/md-sender.ts';
import { hex, keyPair, signalVectors } from '../../support/md-vectors.ts';

const { MD_CREDENTIAL_CODEC, MdDeviceStore, newMdCredentialRecord, generateMdCredentials } = md;
type Record_ = md.MdCredentialRecord;

const v = signalVectors();
const VECTOR_SENDER = { name: v.sender.jid.split('@')[0]!, deviceId: 0 };

/** The vector's receiver as a stored MD record (its noise key and adv secret are ours: unused here). */
function vectorRecord(): Record_ {
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
    me: { jid: r.jid, lid: null },
  });
  record.signal.preKeys = [{ keyId: r.oneTimePreKey.keyId, keyPair: keyPair(r.oneTimePreKey) }];
  return record;
}

/** A store that counts saves and can be told to fail the next ones. */
class ScriptedStore implements CredentialStore<Record_> {
  readonly location = 'scripted';
  readonly inner = new MemoryCredentialStore<Record_>(null, MD_CREDENTIAL_CODEC);
  saves = 0;
  failNext = 0;
  constructor(initial: Record_ | null = null) {
    if (initial) void this.inner.save(initial);
  }
  load() {
    return this.inner.load();
  }
  async save(record: Record_) {
    const text = MD_CREDENTIAL_CODEC.serialize(record);
    await Promise.resolve();
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new CredentialError('IO', 'scripted failure');
    }
    this.saves += 1;
    await this.inner.save(MD_CREDENTIAL_CODEC.parse(text, 'scripted'));
  }
  clear() {
    return this.inner.clear();
  }
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'walink-md-signal-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('MdDeviceStore', () => {
  it('creates and saves fresh credentials in an empty store, and loads them back', async () => {
    const path = join(dir, 'md.json');
    const device = await MdDeviceStore.open(new FileCredentialStore(path, MD_CREDENTIAL_CODEC));
    expect(device.credentials.me).toBeNull();
    const again = await MdDeviceStore.open(new FileCredentialStore(path, MD_CREDENTIAL_CODEC));
    expect(again.credentials).toEqual(device.credentials);
    expect(again.saves).toBe(0);
  });

  it('decrypts the known-answer pkmsg; the session and the used pre-key are on disk when it returns', async () => {
    const path = join(dir, 'md.json');
    const file = new FileCredentialStore(path, MD_CREDENTIAL_CODEC);
    await file.save(vectorRecord());
    const device = await MdDeviceStore.open(file);
    expect(device.signal.preKeyCount).toBe(1);
    const padded = await device.signal.batch(() =>
      signalDecrypt(device.signal, VECTOR_SENDER, 'pkmsg', hex(v.pkmsg)),
    );
    expect(new TextDecoder().decode(unpadMessage(padded))).toContain(v.expected.conversation);
    expect(device.saves).toBe(1);
    const stored = (await file.load())!;
    expect(stored.signal.preKeys).toEqual([]);
    expect(Object.keys(stored.signal.sessions)).toEqual(['15557654321.0']);
    expect(stored.signal.identities['15557654321.0']).toEqual(hex(v.sender.identityKey.public));
    // A process restarted from the file knows the message was used.
    const restarted = await MdDeviceStore.open(new FileCredentialStore(path, MD_CREDENTIAL_CODEC));
    await expect(signalDecrypt(restarted.signal, VECTOR_SENDER, 'pkmsg', hex(v.pkmsg))).rejects.toMatchObject(
      {
        code: 'SIGNAL_DUPLICATE',
      },
    );
  });

  it('a burst of messages inside batch() is one save; without it, concurrent changes share saves', async () => {
    const record = newMdCredentialRecord();
    const store = new ScriptedStore(record);
    const device = await MdDeviceStore.open(store);
    const preKeys = await device.signal.preKeysForUpload(1, 5);
    expect(store.saves).toBe(1);
    const me = { name: '15551234567', deviceId: 3 };
    const senders = [0, 1, 2].map((i) => new TestSender(`1555000000${i}`, me));
    const ciphers: { sender: TestSender; cipher: SignalCiphertext }[] = [];
    for (const [i, sender] of senders.entries()) {
      for (let n = 0; n < 3; n++)
        ciphers.push({
          sender,
          cipher: await sender.encrypt({ conversation: `m${i}.${n}` }, () =>
            bundleOf(device.state, preKeys[i]!.keyId),
          ),
        });
    }
    const texts = await device.batch(async () =>
      Promise.all(
        ciphers.map(
          async ({ sender, cipher }) =>
            codec.decodeMessage(
              unpadMessage(
                await signalDecrypt(
                  device.signal,
                  { name: sender.user, deviceId: 0 },
                  cipher.type,
                  cipher.body,
                ),
              ),
            ).conversation,
        ),
      ),
    );
    expect(texts).toEqual(['m0.0', 'm0.1', 'm0.2', 'm1.0', 'm1.1', 'm1.2', 'm2.0', 'm2.1', 'm2.2']);
    expect(store.saves).toBe(2);
    expect(device.signal.preKeyCount).toBe(2);
    // Outside a batch each change goes through, and those made while a save runs share the next one.
    await Promise.all([1, 2, 3, 4].map((n) => device.signal.storeSession(`9.${n}`, '{}')));
    expect(store.saves).toBe(3);
    expect(Object.keys((await store.load())!.signal.sessions)).toHaveLength(7);
  });

  it('a failed save rejects, is reported, keeps the change pending and the next save writes it', async () => {
    const store = new ScriptedStore(newMdCredentialRecord());
    const errors: unknown[] = [];
    const device = await MdDeviceStore.open(store, { onWriteError: (e) => errors.push(e) });
    store.failNext = 1;
    await expect(device.signal.storeSession('1.0', '{"a":1}')).rejects.toMatchObject({ code: 'IO' });
    expect(errors).toHaveLength(1);
    expect((await store.load())!.signal.sessions).toEqual({});
    await device.flush();
    expect((await store.load())!.signal.sessions).toEqual({ '1.0': '{"a":1}' });
  });

  it('saveCredentials is durable when it resolves and keeps a copy', async () => {
    const store = new ScriptedStore(newMdCredentialRecord());
    const device = await MdDeviceStore.open(store);
    const paired = {
      ...device.credentials,
      me: { jid: '15551234567:3@s.whatsapp.net', lid: '99:3@lid' },
      account: randomBytes(90),
    };
    await device.saveCredentials(paired);
    paired.me.jid = 'changed';
    expect((await store.load())!.credentials.me).toEqual({
      jid: '15551234567:3@s.whatsapp.net',
      lid: '99:3@lid',
    });
    expect(device.credentials.me?.jid).toBe('15551234567:3@s.whatsapp.net');
  });

  it('storeDevice saves the paired credentials and the primary’s identity (device 0) in one save', async () => {
    const store = new ScriptedStore(newMdCredentialRecord());
    const device = await MdDeviceStore.open(store);
    const accountSignatureKey = x25519KeyPair().publicKey;
    const account = codec.encodeAdvSignedDeviceIdentity({
      details: randomBytes(20),
      accountSignatureKey,
      accountSignature: randomBytes(64),
      deviceSignature: randomBytes(64),
    });
    const saves = store.saves;
    await device.storeDevice({
      ...device.credentials,
      me: { jid: '15551234567:3@s.whatsapp.net', lid: null },
      account,
    });
    expect(store.saves).toBe(saves + 1);
    const stored = (await store.load())!;
    expect(stored.credentials.account).toEqual(account);
    expect(stored.signal.identities['15551234567.0']).toEqual(accountSignatureKey);
    // An account that does not decode is still stored; there is just no identity to take from it.
    await device.storeDevice({ ...device.credentials, account: new Uint8Array([0xff, 0xff]) });
    expect((await store.load())!.credentials.account).toEqual(new Uint8Array([0xff, 0xff]));
  });

  it('pre-keys for an upload are saved first, the same ids give the same keys, used ones are gone', async () => {
    const store = new ScriptedStore(newMdCredentialRecord());
    const device = await MdDeviceStore.open(store);
    const first = await device.signal.preKeysForUpload(1, 30);
    expect(first.map((k) => k.keyId)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect((await store.load())!.signal.preKeys).toEqual(first);
    // The upload was never answered (the socket dropped): the same keys go again, nothing new is made.
    const saves = store.saves;
    expect(await device.signal.preKeysForUpload(1, 30)).toEqual(first);
    expect(store.saves).toBe(saves);
    const next = await device.signal.preKeysForUpload(31, 5);
    expect(next.map((k) => k.keyId)).toEqual([31, 32, 33, 34, 35]);
    expect(store.saves).toBe(saves + 1);
    expect(device.signal.preKeyCount).toBe(35);
    expect(await device.signal.preKey(31)).toEqual(next[0]);
    await device.signal.removePreKey(31);
    expect(await device.signal.preKey(31)).toBeNull();
    expect((await store.load())!.signal.preKeys).toHaveLength(34);
    // With the count alone, ids start at the credentials' nextPreKeyId (what the machine sends as firstId).
    await device.saveCredentials({ ...device.credentials, nextPreKeyId: 36 });
    expect((await device.signal.preKeysForUpload(2)).map((k) => k.keyId)).toEqual([36, 37]);
    // Ids wrap on the 3-byte circle; nonsense is refused.
    expect((await device.signal.preKeysForUpload(md.MAX_PRE_KEY_ID, 2)).map((k) => k.keyId)).toEqual([
      md.MAX_PRE_KEY_ID,
      1,
    ]);
    await expect(device.signal.preKeysForUpload(0, 1)).rejects.toThrow(RangeError);
  });

  it('keeps identities (the primary’s from pair-success) and app-state keys', async () => {
    const store = new ScriptedStore(newMdCredentialRecord());
    const device = await MdDeviceStore.open(store);
    const primary = x25519KeyPair().publicKey;
    await device.signal.saveIdentity('15551234567.0', primary);
    expect(device.signal.identity('15551234567.0')).toEqual(primary);
    const older = { keyId: randomBytes(6), keyData: randomBytes(32), timestamp: 10 };
    const newer = {
      keyId: randomBytes(6),
      keyData: randomBytes(32),
      timestamp: 20,
      fingerprint: { rawId: 1, currentIndex: 0, deviceIndexes: [0, 3] },
    };
    await device.appState.put([older, newer]);
    // As the machine's storeAppStateKeys passes them: codec/md's protobuf form; incomplete keys skipped.
    await device.appState.put([
      { keyId: { keyId: older.keyId }, keyData: { keyData: randomBytes(32), timestamp: 10 } },
      { keyId: {} },
    ]);
    expect(device.appState.size).toBe(2);
    expect(device.appState.latest()).toEqual(newer);
    expect(device.appState.get(older.keyId)?.keyData).not.toEqual(older.keyData);
    const reloaded = await MdDeviceStore.open(store);
    expect(reloaded.appState.get(newer.keyId)).toEqual(newer);
    expect(reloaded.signal.identity('15551234567.0')).toEqual(primary);
  });

  it('clear() deletes the record and later changes do not bring it back', async () => {
    const store = new ScriptedStore(newMdCredentialRecord());
    const device = await MdDeviceStore.open(store);
    await device.clear();
    await device.signal.storeSession('1.0', '{}');
    await device.flush();
    expect(await store.load()).toBeNull();
  });
});
