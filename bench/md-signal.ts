// Incoming MD messages per second on one core: decryptMdMessage (stanza → Signal → unpad → Message →
// content) through the persistent MdDeviceStore, saved in memory and in a file (fsync per message), beside
// the reference: the Signal library alone (crypto/md's signalDecrypt over MemorySignalKeyStore, no stanza,
// no protobuf, nothing saved), on the same messages.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CredentialStore,
  FileCredentialStore,
  MD_CREDENTIAL_CODEC,
  type MdCredentialRecord,
  MemoryCredentialStore,
  md,
} from '../actors/index.ts';
import { md as codec } from '../codec/index.ts';
import { x25519KeyPair } from '../crypto/index.ts';
import {
  MemorySignalKeyStore,
  padMessage,
  type SignalCiphertext,
  signalDecrypt,
  signalEncrypt,
  signalStartSession,
} from '../crypto/md/index.ts';
import { round } from './measure.ts';

const ME = { name: '15551234567', deviceId: 3 };
const SENDERS = 4;
const PER_SENDER = Number(process.env.WALINK_BENCH_MD_MESSAGES ?? 150);

interface Prepared {
  record: MdCredentialRecord;
  stanzas: codec.MdNode[];
  ciphers: { from: string; cipher: SignalCiphertext }[];
}

/** A companion with a few pre-keys, and PER_SENDER texts from each of SENDERS contacts, in order. */
async function prepare(): Promise<Prepared> {
  const record = md.newMdCredentialRecord();
  record.signal.preKeys = md.generatePreKeys(1, SENDERS);
  const c = record.credentials;
  const stanzas: codec.MdNode[] = [];
  const ciphers: Prepared['ciphers'] = [];
  for (let s = 0; s < SENDERS; s++) {
    const sender = new MemorySignalKeyStore({ registrationId: 100 + s, identityKeyPair: x25519KeyPair() });
    const preKey = record.signal.preKeys[s]!;
    await signalStartSession(sender, ME, {
      registrationId: c.registrationId,
      identityKey: c.identityKey.publicKey,
      signedPreKey: {
        keyId: c.signedPreKey.keyId,
        publicKey: c.signedPreKey.keyPair.publicKey,
        signature: c.signedPreKey.signature,
      },
      preKey: { keyId: preKey.keyId, publicKey: preKey.keyPair.publicKey },
    });
    const from = `1555000000${s}`;
    for (let n = 0; n < PER_SENDER; n++) {
      const text = `message ${n} from ${from}: ${'x'.repeat(60)}`;
      const cipher = await signalEncrypt(sender, ME, padMessage(codec.encodeMessage({ conversation: text })));
      ciphers.push({ from, cipher });
      stanzas.push(
        codec.mdNode(
          'message',
          { from: `${from}@s.whatsapp.net`, id: `3EB0${s}${n}`, t: '1', type: 'text' },
          [codec.mdNode('enc', { v: '2', type: cipher.type }, cipher.body)],
        ),
      );
    }
  }
  return { record, stanzas, ciphers };
}

function copyRecord(record: MdCredentialRecord): MdCredentialRecord {
  return MD_CREDENTIAL_CODEC.parse(MD_CREDENTIAL_CODEC.serialize(record), 'bench');
}

async function timed(
  run: () => Promise<void>,
  count: number,
): Promise<{ perSecond: number; messages: number }> {
  const started = performance.now();
  await run();
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: round(count / seconds), messages: count };
}

export async function signalMessages(): Promise<Record<string, unknown>> {
  const prepared = await prepare();
  const count = prepared.stanzas.length;

  const reference = await timed(async () => {
    const r = copyRecord(prepared.record);
    const store = new MemorySignalKeyStore(
      { registrationId: r.credentials.registrationId, identityKeyPair: r.credentials.identityKey },
      { signedPreKeys: [r.credentials.signedPreKey], preKeys: r.signal.preKeys },
    );
    for (const { from, cipher } of prepared.ciphers)
      await signalDecrypt(store, { name: from, deviceId: 0 }, cipher.type, cipher.body);
  }, count);

  const through = async (store: CredentialStore<MdCredentialRecord>) => {
    await store.save(copyRecord(prepared.record));
    const device = await md.MdDeviceStore.open(store);
    let texts = 0;
    const result = await timed(async () => {
      for (const stanza of prepared.stanzas) {
        const content = await md.decryptMdMessage(stanza, device.signal);
        if (content.kind === 'text') texts++;
      }
    }, count);
    if (texts !== count) throw new Error(`bench: ${count - texts} messages did not decrypt`);
    return { ...result, saves: device.saves };
  };
  const inMemory = await through(new MemoryCredentialStore<MdCredentialRecord>(null, MD_CREDENTIAL_CODEC));
  const dir = mkdtempSync(join(tmpdir(), 'walink-bench-md-'));
  let inFile: Awaited<ReturnType<typeof through>>;
  try {
    inFile = await through(new FileCredentialStore(join(dir, 'md.json'), MD_CREDENTIAL_CODEC));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    senders: SENDERS,
    messages: count,
    // The Signal library alone: the ceiling for one core.
    referenceLibsignalPerSecond: reference.perSecond,
    decryptMdMessageMemoryStorePerSecond: inMemory.perSecond,
    decryptMdMessageFileStorePerSecond: inFile.perSecond,
    // One save per message: the record (sessions, pre-keys) serialized whole, in the file with fsync.
    fileSavesPerMessage: round(inFile.saves / count, 2),
    memoryVsReference: round(inMemory.perSecond / reference.perSecond, 2),
    fileVsReference: round(inFile.perSecond / reference.perSecond, 2),
  };
}
